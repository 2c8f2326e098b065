"""Clean-up of mask logits: filling small holes and removing small specks (CPU, any device)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from masklet.backend.arrays import Array, ArrayOps, to_numpy

_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def component_areas(binary: np.ndarray) -> np.ndarray:
    """For a boolean [H, W] map, the area of the 8-connected component each pixel belongs to
    (0 where the map is False)."""
    labels, count = ndimage.label(binary, structure=_EIGHT_CONNECTED)
    if count == 0:
        return np.zeros(binary.shape, dtype=np.int64)
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    areas[0] = 0
    return areas[labels]


def fill_holes_and_remove_sprinkles(
    logits: Array, threshold: float, max_hole_area: float, max_sprinkle_area: float, ops: ArrayOps
) -> Array:
    """Logits [..., H, W] (arrays of `ops`) with background regions of at most `max_hole_area`
    pixels turned foreground (threshold + 10) and foreground regions of at most
    `max_sprinkle_area` pixels turned background (threshold - 10). Both are found on the input
    logits."""
    if max_hole_area <= 0 and max_sprinkle_area <= 0:
        return logits
    maps = to_numpy(logits).astype(np.float32, copy=False).reshape(-1, *logits.shape[-2:])
    out = maps.copy()
    for src, dst in zip(maps, out):
        foreground = src > threshold
        if max_hole_area > 0:
            holes = component_areas(~foreground)
            dst[(holes > 0) & (holes <= max_hole_area)] = threshold + 10.0
        if max_sprinkle_area > 0:
            specks = component_areas(foreground)
            dst[(specks > 0) & (specks <= max_sprinkle_area)] = threshold - 10.0
    return ops.asarray(out.reshape(logits.shape))


def fill_holes(logits: Array, max_area: int, ops: ArrayOps, fill_value: float = 0.1) -> Array:
    """Video-mask clean-up: background regions (logits <= 0) of at most `max_area` pixels in
    logits [..., H, W] (arrays of `ops`) become weak foreground (`fill_value`), as SAM 2's video
    predictor does. Runs on the CPU, so it works without any compiled extension."""
    maps = to_numpy(logits).astype(np.float32, copy=False).reshape(-1, *logits.shape[-2:])
    out = maps.copy()
    for src, dst in zip(maps, out):
        holes = component_areas(src <= 0)
        dst[(holes > 0) & (holes <= max_area)] = fill_value
    return ops.asarray(out.reshape(logits.shape))
