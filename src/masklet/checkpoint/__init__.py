"""Models from checkpoints: official names, Meta `.pt` files, HF safetensors (torch), and
ONNX export folders (onnxruntime). Importing this package does not import torch: the torch
side (`masklet.checkpoint.loading`) loads on first use, so the ONNX backend runs where torch
is not installed."""

from __future__ import annotations

import importlib
from pathlib import Path

# The submodule `download` is imported before the function of that name is defined below, so
# the package attribute stays the function.
from masklet.checkpoint.download import DownloadError, download_file
from masklet.checkpoint.errors import CheckpointError
from masklet.checkpoint.registry import OFFICIAL_CHECKPOINTS, cached_path, masklet_home

__all__ = [
    "CheckpointError", "DownloadError", "OFFICIAL_CHECKPOINTS", "average_models", "build_model", "download",
    "load_model", "masklet_home", "resolve_checkpoint", "save_model",
]

# Names served lazily from the torch side, `masklet.checkpoint.loading`.
_TORCH_NAMES = ("average_models", "build_model", "cpu_has_native", "resolve_checkpoint", "save_model")


def __getattr__(name: str):
    if name in _TORCH_NAMES:
        return getattr(importlib.import_module("masklet.checkpoint.loading"), name)
    raise AttributeError(f"module 'masklet.checkpoint' has no attribute {name!r}")


def download(name: str, progress: bool = True) -> Path:
    """The cached file of official checkpoint `name`, downloaded first if missing."""
    if name not in OFFICIAL_CHECKPOINTS:
        raise KeyError(f"no official checkpoint named {name!r}; known: {sorted(OFFICIAL_CHECKPOINTS)}")
    path = cached_path(name)
    if not path.exists():
        download_file(OFFICIAL_CHECKPOINTS[name].url, path, progress=progress)
    return path


def load_model(
    name_or_path: str | Path,
    config=None,
    device="cpu",
    dtype=None,
    progress: bool = True,
    backend: str = "torch",
    image_size: int | None = None,
):
    """A SAM 2 model with weights, in eval mode.

    `name_or_path` is an official name (`sam2.1-hiera-tiny`, ...; downloaded into
    $MASKLET_HOME on first use), the bundled `masklet-nano`, an alias of either that
    `get_config` accepts (`tiny`, `2.0-large`, ...), a Meta `.pt` file, or a Hugging Face
    safetensors file or folder; see `resolve_checkpoint` for how names and paths are told
    apart. The config (a `SAM2Config` or a name) comes from `config`, else from the file, else
    from the weights' keys and shapes. Loading is strict: any missing, unexpected or
    mis-shaped tensor is an error. `dtype` defaults to torch.float32.

    `image_size` runs the network at another input resolution than its config's (a multiple of
    32, e.g. 512 or 768 for the official 1024 px models: about 4x or 1.8x fewer tokens in
    every attention, at some accuracy): no weight depends on it, and the position tables
    (Hiera's interpolated position embedding, the prompt encoder's grid, RoPE) follow it.

    `backend="onnx"` loads a folder written by `masklet export --format onnx` as an
    `OnnxSAM2Model` run by onnxruntime on the CPU in float32, which `VideoPredictor`,
    `StreamTracker` and `ImagePredictor` take in place of a SAM2Model; it does not need torch.
    """
    if backend == "onnx":
        from masklet.onnxrt.model import load_onnx_model

        return load_onnx_model(name_or_path, config, device, dtype, image_size)
    if backend != "torch":
        raise ValueError(f"backend must be 'torch' or 'onnx', got {backend!r}")
    from masklet.checkpoint.loading import load_torch_model

    if dtype is None:
        import torch

        dtype = torch.float32
    return load_torch_model(name_or_path, config, device, dtype, progress, image_size)
