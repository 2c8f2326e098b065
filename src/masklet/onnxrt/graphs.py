"""onnxruntime sessions of an export folder, fed numpy arrays (or torch tensors) and read as
numpy arrays. Torch is never imported here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from masklet.backend.arrays import to_numpy


class GraphRunner:
    """Runs the graphs of one export folder; each session is created on first use."""

    def __init__(self, folder: Path, manifest: dict, threads: int | None = None) -> None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise ImportError("the ONNX backend needs onnxruntime: pip install 'masklet[onnx]'") from None
        self.folder, self.manifest, self.threads = folder, manifest, threads
        self._sessions: dict = {}

    def session(self, name: str):
        if name not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            if self.threads:
                options.intra_op_num_threads = self.threads
            path = self.folder / self.manifest["graphs"][name]["file"]
            self._sessions[name] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return self._sessions[name]

    def __call__(self, name: str, **inputs) -> dict[str, np.ndarray]:
        """Run graph `name` on named arrays -> its outputs by name."""
        session = self.session(name)
        feed = {k: _input_array(v) for k, v in inputs.items()}
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, feed)))


def _input_array(value) -> np.ndarray:
    """A graph input: contiguous, floats as float32 (the graphs' input type)."""
    array = to_numpy(value)
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    return np.ascontiguousarray(array)
