"""onnxruntime sessions of an export folder, fed and read as torch tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


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

    def __call__(self, name: str, **inputs) -> dict[str, torch.Tensor]:
        """Run graph `name` on named tensors (or numpy arrays) -> its outputs by name."""
        session = self.session(name)
        feed = {k: _array(v) for k, v in inputs.items()}
        names = [o.name for o in session.get_outputs()]
        return {n: torch.from_numpy(v) for n, v in zip(names, session.run(names, feed))}


def _array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        value = value.float() if value.is_floating_point() else value
        return np.ascontiguousarray(value.numpy())
    return np.ascontiguousarray(value)
