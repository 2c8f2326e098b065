"""Helpers of the ONNX tests: the bundled model exported once per run, graphs run on torch
tensors (real DAVIS frames: `conftest.davis_frame`). (Not a conftest.py: tests/conftest.py already owns that name.)"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

ort = pytest.importorskip("onnxruntime", reason="the ONNX tests need onnxruntime (pip install 'masklet[onnx]')")
pytest.importorskip("onnx", reason="the ONNX tests need onnx (pip install 'masklet[onnx]')")

# fp32 logits of an exported graph may differ from torch by at most this much.
LOGIT_TOLERANCE = 1e-3


@functools.lru_cache(maxsize=None)
def nano_model():
    import masklet

    return masklet.load_model("masklet-nano")


@functools.lru_cache(maxsize=None)
def nano_export() -> Path:
    """masklet-nano exported (once per test run) into a temporary folder."""
    from masklet.export import export_onnx

    root = Path(tempfile.mkdtemp(prefix="masklet-onnx-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    folder = root / "masklet-nano"
    export_onnx(nano_model(), folder)
    return folder


class Graphs:
    """Run the graphs of an export folder on torch tensors; outputs come back as a dict."""

    def __init__(self, folder) -> None:
        self.folder, self._sessions = folder, {}

    def __call__(self, name: str, **inputs) -> dict[str, torch.Tensor]:
        if name not in self._sessions:
            self._sessions[name] = ort.InferenceSession(str(self.folder / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        session = self._sessions[name]
        feed = {k: np.ascontiguousarray(v.detach().numpy()) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
        names = [o.name for o in session.get_outputs()]
        return {n: torch.from_numpy(v) for n, v in zip(names, session.run(None, feed))}


@functools.lru_cache(maxsize=None)
def nano_graphs() -> Graphs:
    return Graphs(nano_export())


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0
