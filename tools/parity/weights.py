"""Deterministic, name-keyed pseudo-random weights for parity tests.

Each tensor is drawn from its own NumPy PCG64 stream seeded by sha256(f"{seed}:{name}"), so
the same name and shape give the same values in any process, any torch version and any
model implementation. Matrices are fan-in scaled (std = GAIN / sqrt(fan_in)) so activations
keep their size through deep stacks and the mask logits reach several units; norm scales sit
near 1, biases near 0, and free tensors (tokens, embeddings, position tables) are O(1).

This file runs in both the Masklet and the reference venvs: it needs only numpy and torch.
"""

from __future__ import annotations

import hashlib
from typing import Mapping

import numpy as np
import torch

GAIN = 1.0
FREE_STD = 0.5
SMALL_STD = 0.1


def _rng(name: str, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def seeded_tensor(name: str, shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """The float32 tensor that parameter `name` of `shape` gets for `seed`."""
    noise = _rng(name, seed).standard_normal(shape)
    leaf = name.rsplit(".", 1)[-1]
    is_layer_weight = leaf == "weight" and len(shape) >= 2 and not _is_embedding(name)
    if is_layer_weight:
        fan_in = int(np.prod(shape[1:]))
        values = noise * (GAIN / np.sqrt(fan_in))
    elif len(shape) == 1 and leaf == "bias":
        values = noise * SMALL_STD
    elif len(shape) == 1 and (leaf in ("weight", "gamma", "scale")):
        values = 1.0 + noise * SMALL_STD
    else:
        values = noise * FREE_STD
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))


def _is_embedding(name: str) -> bool:
    """nn.Embedding tables: tokens and prompt embeddings, looked up rather than multiplied."""
    return any(
        key in name
        for key in ("point_embeddings", "not_a_point_embed", "no_mask_embed", "iou_token",
                    "mask_tokens", "obj_score_token", "point_embed.", "not_a_point_embed.")
    )


def seeded_state_dict(
    shapes: Mapping[str, tuple[int, ...]] | Mapping[str, torch.Tensor], seed: int = 0
) -> dict[str, torch.Tensor]:
    """A state-dict with a seeded tensor for every (name, shape) or (name, tensor) given."""
    out = {}
    for name, shape in shapes.items():
        shape = tuple(shape.shape) if isinstance(shape, torch.Tensor) else tuple(shape)
        out[name] = seeded_tensor(name, shape, seed)
    return out


def fill_module(module: torch.nn.Module, seed: int = 0, prefix: str = "") -> None:
    """Overwrite every float tensor of `module`'s state-dict with its seeded value.

    `prefix` is prepended to the module's own names, so a submodule gets the values it would
    get inside the full model (e.g. prefix='sam_mask_decoder.').
    """
    state = module.state_dict()
    filled = {
        k: seeded_tensor(prefix + k, tuple(v.shape), seed) if v.is_floating_point() else v
        for k, v in state.items()
    }
    module.load_state_dict(filled, strict=True)
