"""The graphs of an export folder compiled by OpenVINO for the CPU, at one inference precision."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from masklet.exported.graphs import GraphRunner

# Masklet's dtype names -> OpenVINO's INFERENCE_PRECISION_HINT. float32 is asked for explicitly:
# on a CPU with bfloat16 OpenVINO's default is bf16. int8 runs the graphs quantized by
# `masklet quantize` (masklet.export.openvino_int8) and everything else in float32.
PRECISION_HINTS = {"float32": "f32", "bfloat16": "bf16", "int8": "f32"}


def openvino_core():
    """An `openvino.Core`, or an ImportError that says how to install OpenVINO."""
    try:
        import openvino
    except ImportError:
        raise ImportError("the OpenVINO backend needs openvino: pip install 'masklet[openvino]'") from None
    return openvino.Core()


def cpu_has_native_bfloat16(core) -> bool:
    """Whether OpenVINO computes bfloat16 natively on this CPU (AVX512-BF16 or AMX)."""
    return "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OpenVinoGraphs(GraphRunner):
    backend = "openvino"

    def __init__(self, folder: Path, manifest: dict, precision: str = "float32", threads: int | None = None) -> None:
        super().__init__(folder, manifest)
        self.core = openvino_core()
        self.precision = precision
        self.settings: dict[str, str | int] = {"INFERENCE_PRECISION_HINT": PRECISION_HINTS[precision],
                                               "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            self.settings["INFERENCE_NUM_THREADS"] = threads

    def path(self, name: str) -> Path:
        """The graph's file: in int8, its quantized IR where the folder has one."""
        quantized = int8_files(self.manifest) if self.precision == "int8" else {}
        return self.folder / quantized[name] if name in quantized else super().path(name)

    def compile(self, name: str):
        return self.core.compile_model(str(self.path(name)), "CPU", self.settings)

    def run(self, name: str, compiled, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = compiled(feed)  # copies of the outputs (share_outputs=False)
        return {n: results[compiled.output(n)] for n in self.output_names(name)}


def int8_files(manifest: dict) -> dict[str, str]:
    """Graph name -> its int8 IR file, for the graphs of an export folder quantized by
    `masklet quantize` (the manifest's graph entry "int8": {"file": ...})."""
    return {name: graph["int8"]["file"] for name, graph in manifest["graphs"].items()
            if isinstance(graph.get("int8"), dict) and isinstance(graph["int8"].get("file"), str)}
