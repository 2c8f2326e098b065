"""Checks shared by the mask writers: masks are boolean (or 0/1 integer) arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_mask(mask, what: str = "mask") -> np.ndarray:
    """A bool [H, W] mask, from bool or 0/1 integer input; anything else is a ValueError."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{what}: expected a 2-D [H, W] mask, got shape {mask.shape}")
    return _as_bool(mask, what)


def as_mask_stack(masks, what: str = "masks") -> np.ndarray:
    """A bool [N, H, W] stack, from bool or 0/1 integer input (N may be 0)."""
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(
            f"{what}: expected [N, H, W] masks, got shape {masks.shape} (add an axis for a single mask)"
        )
    return _as_bool(masks, what)


def _as_bool(array: np.ndarray, what: str) -> np.ndarray:
    if array.dtype == bool:
        return array
    if np.issubdtype(array.dtype, np.integer) and (array.size == 0 or array.min() >= 0 and array.max() <= 1):
        return array.astype(bool)
    raise ValueError(
        f"{what}: expected bool (or 0/1 integer) masks, got dtype {array.dtype}; "
        "threshold scores or logits first (e.g. `logits > 0`)"
    )


def as_ids(ids: Sequence[int], count: int, what: str = "obj_ids") -> list[int]:
    """`count` distinct integer ids."""
    try:
        ids = [int(i) for i in ids]
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a sequence of integers, got {ids!r}") from None
    if len(ids) != count:
        raise ValueError(f"{what}: {len(ids)} ids for {count} masks; give one id per mask")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{what}: ids must be distinct, got {ids}")
    return ids
