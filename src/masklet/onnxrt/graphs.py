"""The graphs of an export folder as onnxruntime sessions (CPU, float32)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from masklet.exported.graphs import GraphRunner


class OnnxRuntimeGraphs(GraphRunner):
    backend = "onnx"

    def __init__(self, folder: Path, manifest: dict, threads: int | None = None) -> None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise ImportError("the ONNX backend needs onnxruntime: pip install 'masklet[onnx]'") from None
        super().__init__(folder, manifest)
        self.threads = threads

    def compile(self, name: str):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        return ort.InferenceSession(str(self.path(name)), options, providers=["CPUExecutionProvider"])

    def run(self, name: str, compiled, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = self.output_names(name)
        return dict(zip(names, compiled.run(names, feed)))
