"""Building models from checkpoints: official names, Meta `.pt` files and HF safetensors."""

from __future__ import annotations

from pathlib import Path

import torch

from masklet.checkpoint.download import DownloadError, download_file
from masklet.checkpoint.formats import (
    CheckpointError,
    detect_config,
    read_checkpoint,
    write_hf,
    write_meta,
)
from masklet.checkpoint.registry import BUNDLED_MODELS, OFFICIAL_CHECKPOINTS, bundled_path, cached_path, masklet_home
from masklet.config import SAM2Config, get_config
from masklet.model.sam2 import SAM2Model

__all__ = [
    "CheckpointError", "DownloadError", "OFFICIAL_CHECKPOINTS", "average_models", "build_model", "download",
    "load_model", "masklet_home", "resolve_checkpoint", "save_model",
]

_SHOWN_KEYS = 8


def build_model(config: SAM2Config | str, device="cpu", dtype=torch.float32) -> SAM2Model:
    """A randomly initialised model of `config` (a SAM2Config or a registered name)."""
    if isinstance(config, str):
        config = get_config(config)
    return SAM2Model(config).to(device=device, dtype=dtype).eval()


def download(name: str, progress: bool = True) -> Path:
    """The cached file of official checkpoint `name`, downloaded first if missing."""
    if name not in OFFICIAL_CHECKPOINTS:
        raise KeyError(f"no official checkpoint named {name!r}; known: {sorted(OFFICIAL_CHECKPOINTS)}")
    path = cached_path(name)
    if not path.exists():
        download_file(OFFICIAL_CHECKPOINTS[name].url, path, progress=progress)
    return path


def resolve_checkpoint(name_or_path: str | Path, progress: bool = True) -> Path:
    """A local file for a path, a bundled model's name (`masklet-nano`) or an official name
    (downloading it into the cache)."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    name = str(name_or_path)
    bundled = bundled_path(name)
    if bundled is not None:
        return bundled
    if name in OFFICIAL_CHECKPOINTS:
        return download(name, progress=progress)
    raise CheckpointError(
        f"{name_or_path}: neither an existing file nor a known model name "
        f"(known: {', '.join(sorted([*BUNDLED_MODELS, *OFFICIAL_CHECKPOINTS]))})"
    )


def load_model(
    name_or_path: str | Path,
    config: SAM2Config | str | None = None,
    device="cpu",
    dtype=torch.float32,
    progress: bool = True,
) -> SAM2Model:
    """A SAM 2 model with weights, in eval mode.

    `name_or_path` is an official name (`sam2.1-hiera-tiny`, ...; downloaded into
    $MASKLET_HOME on first use), a Meta `.pt` file, or a Hugging Face safetensors file or
    folder. The config comes from `config`, else from the file, else from the weights' keys and
    shapes. Loading is strict: any missing, unexpected or mis-shaped tensor is an error.
    """
    path = resolve_checkpoint(name_or_path, progress=progress)
    ckpt = read_checkpoint(path)
    if isinstance(config, str):
        config = get_config(config)
    if config is None:
        config = ckpt.config
    if config is None:
        try:
            config = detect_config(ckpt.state_dict)
        except CheckpointError as e:
            raise CheckpointError(f"{path}: {e}") from None
    model = SAM2Model(config)
    _load_strict(model, ckpt.state_dict, path)
    return model.to(device=device, dtype=dtype).eval()


def _load_strict(model: SAM2Model, state_dict: dict, path: Path) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mis_shaped = [
        f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or mis_shaped:
        try:
            hint = f"; the weights look like {detect_config(state_dict).name}"
        except CheckpointError:
            hint = ""
        parts = [f"{path}: does not fit config {model.config.name!r}{hint}"]
        for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", mis_shaped)):
            if items:
                more = f" ... (+{len(items) - _SHOWN_KEYS} more)" if len(items) > _SHOWN_KEYS else ""
                parts.append(f"{label} ({len(items)}): {', '.join(items[:_SHOWN_KEYS])}{more}")
        raise CheckpointError("\n  ".join(parts))
    model.load_state_dict(state_dict, strict=True)


def average_models(sources: list[str | Path], progress: bool = True) -> SAM2Model:
    """One model whose weights are the mean of the `sources`' weights (checkpoint averaging,
    e.g. of the checkpoints a training run wrote over its last steps: a smoother model than
    any one of them). All sources must have the same config; the mean is taken in float64 and
    stored as float32."""
    if not sources:
        raise ValueError("average_models needs at least one checkpoint")
    first = load_model(sources[0], progress=progress)
    total = {k: v.double() for k, v in first.state_dict().items()}
    for source in sources[1:]:
        model = load_model(source, progress=progress)
        if model.config != first.config:
            raise CheckpointError(
                f"{source}: config {model.config.name!r} differs from {sources[0]}'s {first.config.name!r}; "
                "only checkpoints of one model config can be averaged"
            )
        for k, v in model.state_dict().items():
            total[k] += v.double()
    first.load_state_dict({k: (v / len(sources)).float() for k, v in total.items()})
    return first


def save_model(model: SAM2Model, path: str | Path, format: str = "meta") -> Path:
    """Save weights as a Meta `.pt` (`format="meta"`) or an HF folder (`format="hf"`)."""
    state_dict = model.state_dict()
    if format == "meta":
        return write_meta(path, state_dict, model.config)
    if format == "hf":
        return write_hf(path, state_dict, model.config)
    raise ValueError(f"unknown checkpoint format {format!r}; use 'meta' or 'hf'")
