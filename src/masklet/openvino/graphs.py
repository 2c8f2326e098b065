"""The graphs of an export folder compiled by OpenVINO for the CPU, at one inference precision."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from masklet.exported.graphs import GraphRunner

# Masklet's dtype names -> OpenVINO's INFERENCE_PRECISION_HINT. float32 is asked for explicitly:
# on a CPU with bfloat16 OpenVINO's default is bf16.
PRECISION_HINTS = {"float32": "f32", "bfloat16": "bf16"}


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

    def compile(self, name: str):
        return self.core.compile_model(str(self.path(name)), "CPU", self.settings)

    def run(self, name: str, compiled, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = compiled(feed)  # copies of the outputs (share_outputs=False)
        return {n: results[compiled.output(n)] for n in self.output_names(name)}
