"""Helpers of the ONNX tests: the bundled model exported once per run, graphs run on torch
tensors by either backend of export folders (real DAVIS frames: `conftest.davis_frame`).
(Not a conftest.py: tests/conftest.py already owns that name.)"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

pytest.importorskip("onnxruntime", reason="the ONNX tests need onnxruntime (pip install 'masklet[onnx]')")
pytest.importorskip("onnx", reason="the ONNX tests need onnx (pip install 'masklet[onnx]')")

# The backends that run an export folder, for tests parametrized over both (`backend`).
EXPORT_BACKENDS = [
    "onnx",
    pytest.param("openvino", marks=pytest.mark.skipif(
        importlib.util.find_spec("openvino") is None, reason="the OpenVINO tests need openvino (pip install 'masklet[openvino]')"
    )),
]

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
    """Run the graphs of an export folder on torch tensors with `backend`'s own graph runner
    (float32); outputs come back as torch tensors, by name."""

    def __init__(self, folder, backend: str = "onnx") -> None:
        import masklet

        self.runner = masklet.load_model(folder, backend=backend).graphs

    def __call__(self, name: str, **inputs) -> dict[str, torch.Tensor]:
        return {n: torch.from_numpy(v) for n, v in self.runner(name, **inputs).items()}


@functools.lru_cache(maxsize=None)
def nano_graphs(backend: str = "onnx") -> Graphs:
    return Graphs(nano_export(), backend)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0
