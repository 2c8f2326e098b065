"""Models from checkpoints: official names, Meta `.pt` files, HF safetensors (torch), and
ONNX export folders (onnxruntime or OpenVINO). Importing this package does not import torch:
the torch side (`masklet.checkpoint.loading`) loads on first use, so the backends of export
folders run where torch is not installed."""

from __future__ import annotations

import importlib
from pathlib import Path

from masklet.allocator import apply_environment

# The submodule `download` is imported before the function of that name is defined below, so
# the package attribute stays the function.
from masklet.checkpoint.download import DownloadError, download_file
from masklet.checkpoint.errors import CheckpointError
from masklet.checkpoint.registry import OFFICIAL_CHECKPOINTS, cached_path, masklet_home
from masklet.errors import OptionError

__all__ = [
    "BACKENDS", "CheckpointError", "DownloadError", "EXPORT_BACKENDS", "OFFICIAL_CHECKPOINTS", "average_models",
    "build_model", "download", "load_exported_model", "load_model", "masklet_home", "resolve_checkpoint", "save_model",
]

# Names served lazily from the torch side, `masklet.checkpoint.loading`.
_TORCH_NAMES = ("average_models", "build_model", "compute_setting", "cpu_has_native", "resolve_checkpoint",
                "save_model")


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


# Backends that run the graphs of an export folder (`masklet export --format onnx`).
EXPORT_BACKENDS = ("onnx", "openvino")
BACKENDS = ("torch", *EXPORT_BACKENDS)


def load_exported_model(backend: str, folder, config=None, device="cpu", dtype=None, threads: int | None = None):
    """An export folder as the model of `backend` ("onnx" or "openvino"); `threads`: the
    runtime's inference threads (default: its own choice)."""
    if backend == "onnx":
        from masklet.onnxrt.model import load_onnx_model

        return load_onnx_model(folder, config, device, dtype, threads)
    from masklet.openvino.model import load_openvino_model

    return load_openvino_model(folder, config, device, dtype, threads)


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
    mis-shaped tensor is an error.

    `dtype` (default float32, the bit-exact parity path): a torch dtype or its name
    (float32, bfloat16, float16), "int8" (the image encoder's linear layers as int8 GEMMs, on
    the CPU; see `masklet.model.int8`), or "auto": the fastest of these that stays accurate on
    `device` (bfloat16 on CPUs with AVX512-BF16 or AMX and on GPUs that have it, int8 on other
    AVX2 CPUs, else float32; `masklet info --system` shows the choice and
    `masklet.checkpoint.compute` the rule).

    `image_size` runs the network at another input resolution than its config's (a multiple of
    32, e.g. 512 or 768 for the official 1024 px models: about 4x or 1.8x fewer tokens in
    every attention, at some accuracy): no weight depends on it, and the position tables
    (Hiera's interpolated position embedding, the prompt encoder's grid, RoPE) follow it.

    `backend="onnx"` loads a folder written by `masklet export --format onnx` as a model run by
    onnxruntime on the CPU in float32; `backend="openvino"` loads the same folder compiled by
    OpenVINO for the CPU, in float32 or (dtype bfloat16, where the CPU computes it natively)
    bfloat16. `VideoPredictor`, `StreamTracker` and `ImagePredictor` take either in place of a
    SAM2Model; neither needs torch.

    With MASKLET_MMAP_THRESHOLD=<bytes> in the environment it first has glibc mmap every block
    of that size or more, less memory for some speed (`masklet.allocator`).
    """
    apply_environment()
    if backend in EXPORT_BACKENDS:
        if image_size is not None:
            raise OptionError(
                f"backend={backend!r} takes the image size from the export's manifest.json; load the torch model "
                "with load_model(..., image_size=N) and export that instead"
            )
        return load_exported_model(backend, name_or_path, config, device, dtype)
    if backend != "torch":
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    from masklet.checkpoint.loading import load_torch_model

    if dtype is None:
        import torch

        dtype = torch.float32
    return load_torch_model(name_or_path, config, device, dtype, progress, image_size)
