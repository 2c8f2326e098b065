"""Reading and writing checkpoint files, and telling the config from a state-dict.

Formats:
  meta  - Meta's `.pt`: a zip-pickled `{"model": state_dict}` (Masklet adds
          "masklet_config": the config as a dict, which the reference ignores).
  hf    - Hugging Face transformers layout: a folder with `config.json` and
          `model.safetensors`, or a lone `.safetensors` file.
Everything is read with `torch.load(weights_only=True)` or safetensors: a file that needs
arbitrary code to unpickle is refused.
"""

from __future__ import annotations

import json
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from masklet.checkpoint import hf
from masklet.checkpoint.errors import CheckpointError
from masklet.config import MODEL_CONFIGS, HieraConfig, SAM2Config
from masklet.errors import ConfigError
from masklet.io.atomic import atomic_output, write_text_atomic


@dataclass
class LoadedCheckpoint:
    path: Path
    format: str  # "meta" or "hf"
    state_dict: dict[str, torch.Tensor]  # official (Meta) key layout
    config: SAM2Config | None  # stored in the file, when it carries one


def read_checkpoint(path: str | Path) -> LoadedCheckpoint:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or directory")
    if path.is_dir() or path.suffix == ".safetensors":
        return _read_hf(path)
    return _read_meta(path)


def _read_meta(path: Path) -> LoadedCheckpoint:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{path}: refused to load - the file holds Python objects that are not plain tensors "
            f"and could run code when unpickled (only weights are loaded; weights_only=True). "
            f"Details: {_first_line(e)}"
        ) from None
    except Exception as e:  # torch.load raises many different types on garbage input
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint (truncated or corrupt?): "
            f"{_first_line(e)}"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        state_dict = data["model"]
        odd = [str(k) for k, v in state_dict.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
        if odd:
            raise CheckpointError(f"{path}: 'model' holds entries that are not named tensors: {odd[:5]}; the file is corrupt")
    elif isinstance(data, dict) and data and all(isinstance(v, torch.Tensor) for v in data.values()):
        state_dict = data
    else:
        kind = type(data).__name__
        keys = list(data)[:5] if isinstance(data, dict) else []
        raise CheckpointError(
            f"{path}: not a SAM 2 checkpoint: expected {{'model': state_dict}} or a state-dict, "
            f"found a {kind}" + (f" with keys {keys}" if keys else "")
        )
    config = None
    if isinstance(data, dict) and isinstance(data.get("masklet_config"), dict):
        try:
            config = SAM2Config.from_dict(data["masklet_config"])
        except ConfigError as e:
            raise CheckpointError(f"{path}: its stored masklet_config is unusable ({e})") from None
    if hf.is_hf_state_dict(state_dict):
        state_dict = hf.hf_to_meta(state_dict)
    return LoadedCheckpoint(path, "meta", state_dict, config)


def _first_line(error: Exception) -> str:
    lines = str(error).splitlines()
    return lines[0] if lines else type(error).__name__


def _read_hf(path: Path) -> LoadedCheckpoint:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights = path / "model.safetensors" if path.is_dir() else path
    config_file = weights.parent / "config.json"
    if not weights.exists():
        raise CheckpointError(f"{path}: no model.safetensors in this folder")
    try:
        state_dict = load_file(weights, device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{weights}: not a readable safetensors file: {e}") from None
    config = None
    if config_file.exists():
        try:
            config = hf.config_from_hf(json.loads(config_file.read_text()))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"{config_file}: not a usable SAM 2 config.json: {e}") from None
    if hf.is_hf_state_dict(state_dict):
        try:
            state_dict = hf.hf_to_meta(state_dict)
        except (KeyError, ValueError) as e:
            raise CheckpointError(f"{weights}: {e}") from None
    return LoadedCheckpoint(path, "hf", state_dict, config)


def write_meta(path: str | Path, state_dict: dict, config: SAM2Config | None = None) -> Path:
    """Write `{"model": state_dict}` (plus Masklet's config) atomically: through a temporary
    file of its own beside `path`, so concurrent writers never clobber each other's halves."""
    path = Path(path)
    payload = {"model": {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}}
    if config is not None:
        payload["masklet_config"] = config.to_dict()
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)
    return path


def write_hf(path: str | Path, state_dict: dict, config: SAM2Config) -> Path:
    """Write a transformers-layout folder: config.json + model.safetensors."""
    from safetensors.torch import save_file

    if not isinstance(config.trunk, HieraConfig):
        raise CheckpointError(f"{config.name}: the Hugging Face layout describes Hiera trunks only; "
                              "save this model in Meta's format (format='meta')")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in hf.meta_to_hf(state_dict).items()}
    with atomic_output(path / "model.safetensors") as tmp:
        save_file(tensors, str(tmp), metadata={"format": "pt"})
    write_text_atomic(path / "config.json", json.dumps(hf.hf_config_from(config), indent=2))
    return path


# ---------------------------------------------------------------------- config detection

_TRUNK = "image_encoder.trunk."


def describe_state_dict(state_dict: dict) -> dict:
    """The architecture facts readable from key names and shapes."""
    blocks = sorted({int(m.group(1)) for k in state_dict if (m := re.match(rf"{_TRUNK}blocks\.(\d+)\.", k))})
    if f"{_TRUNK}patch_embed.proj.weight" not in state_dict or not blocks:
        raise CheckpointError("no Hiera image encoder weights (image_encoder.trunk.*) found")
    # A block that changes width (first of a new stage) owns a `proj` layer.
    starts = [b for b in blocks if f"{_TRUNK}blocks.{b}.proj.weight" in state_dict]
    bounds = [0] + starts + [len(blocks)]
    pos_embed = state_dict.get(f"{_TRUNK}pos_embed")
    return {
        "version": "2.1" if "no_obj_embed_spatial" in state_dict else "2.0",
        "embed_dim": int(state_dict[f"{_TRUNK}patch_embed.proj.weight"].shape[0]),
        "stages": tuple(b - a for a, b in zip(bounds, bounds[1:])),
        "window_pos_embed_bkg_spatial_size": tuple(pos_embed.shape[-2:]) if pos_embed is not None else None,
        "num_maskmem": int(state_dict["maskmem_tpos_enc"].shape[0]) if "maskmem_tpos_enc" in state_dict else None,
    }


def detect_config(state_dict: dict) -> SAM2Config:
    """The registered Hiera config whose architecture matches `state_dict`'s keys and shapes
    (checkpoints of other trunks are Masklet's own and carry their config)."""
    facts = describe_state_dict(state_dict)
    matches = [
        cfg for cfg in MODEL_CONFIGS.values()
        if isinstance(cfg.trunk, HieraConfig)
        and cfg.version == facts["version"]
        and cfg.trunk.embed_dim == facts["embed_dim"]
        and cfg.trunk.stages == facts["stages"]
        and cfg.trunk.window_pos_embed_bkg_spatial_size == facts["window_pos_embed_bkg_spatial_size"]
        and cfg.num_maskmem == facts["num_maskmem"]
    ]
    if len(matches) != 1:
        found = "no registered config" if not matches else f"several configs ({[c.name for c in matches]})"
        raise CheckpointError(
            f"cannot tell the model config from the weights ({facts}): {found} matches; "
            "pass config=SAM2Config(...) or a registered name"
        )
    return matches[0]
