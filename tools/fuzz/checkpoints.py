"""The checkpoint fuzz target's inputs: recipes that damage a real checkpoint.

Flipping bytes of a 7 MB zip rarely reaches the loader's own checks, so the fuzzer's bytes are
read as a recipe instead: which format to write masklet-nano's weights in, which tensors to
drop, add, reshape, retype or fill with NaN, and how to truncate and bit-flip the written file.
`load_recipe` writes that file and loads it with `masklet.load_model`.

Recipe bytes: [format] then (op, key-hi, key-lo, arg) groups; a group whose op is 0xFF ends the
edits, and the bytes after it damage the file: [truncate-per-255] then (position-hi, position-lo,
bit) flips.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

FORMATS = ("meta", "meta-with-config", "safetensors")
DTYPES = (torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.bool, torch.uint8)
END_OF_EDITS = 0xFF


@functools.cache
def _nano() -> tuple[dict[str, torch.Tensor], object]:
    from masklet.checkpoint.formats import read_checkpoint
    from masklet.checkpoint.loading import resolve_checkpoint

    loaded = read_checkpoint(resolve_checkpoint("masklet-nano", progress=False))
    return loaded.state_dict, loaded.config


def _edit(state: dict[str, torch.Tensor], op: int, key_index: int, arg: int) -> None:
    keys = sorted(state)
    key = keys[key_index % len(keys)]
    tensor = state[key]
    kind = op % 6
    if kind == 0:
        del state[key]
    elif kind == 1:
        state[f"{key}.extra{arg}"] = torch.zeros(arg % 4 + 1)
    elif kind == 2:
        state[key] = tensor.reshape(-1) if arg % 2 else tensor.unsqueeze(0)
    elif kind == 3:
        state[key] = tensor.to(DTYPES[arg % len(DTYPES)])
    elif kind == 4:
        filled = tensor.clone().float()
        filled.view(-1)[arg % max(filled.numel(), 1):][:1] = (float("nan"), float("inf"), -float("inf"))[arg % 3]
        state[key] = filled.to(tensor.dtype)
    else:
        state[key] = torch.tensor(float(arg)) if arg % 2 else torch.empty(0)


def _write(state: dict[str, torch.Tensor], form: str, folder: Path) -> Path:
    from masklet.checkpoint.formats import write_hf, write_meta

    config = _nano()[1]
    if form == "safetensors":
        return write_hf(folder / "hf", state, config) / "model.safetensors"
    return write_meta(folder / "model.pt", state, config if form == "meta-with-config" else None)


def _damage(path: Path, damage: bytes) -> None:
    if not damage:
        return
    data = bytearray(path.read_bytes())
    if damage[0] < 255:
        del data[len(data) * damage[0] // 255:]
    for i in range(1, len(damage) - 2, 3):
        if data:
            position = (damage[i] << 8 | damage[i + 1]) * len(data) // 65536
            data[position] ^= 1 << (damage[i + 2] % 8)
    path.write_bytes(bytes(data))


def load_recipe(path: Path) -> None:
    import masklet

    recipe = path.read_bytes()
    if not recipe:
        return
    state = dict(_nano()[0])
    form = FORMATS[recipe[0] % len(FORMATS)]
    position = 1
    while position + 4 <= len(recipe) and recipe[position] != END_OF_EDITS:
        op, hi, lo, arg = recipe[position:position + 4]
        _edit(state, op, hi << 8 | lo, arg)
        position += 4
    try:
        written = _write(state, form, path.parent)
    except (KeyError, ValueError, RuntimeError):
        return  # edits the HF key mapping cannot express: no file, nothing to load
    _damage(written, recipe[position + 1:])
    target = written.parent if form == "safetensors" else written
    masklet.load_model(target, progress=False)


def seed_recipes() -> list[bytes]:
    """The undamaged file in each format (and each written as edits-then-no-damage): all load."""
    return [bytes([form]) for form in range(len(FORMATS))] + [bytes([form, END_OF_EDITS]) for form in range(len(FORMATS))]
