"""The one prompt path of every predictor: user clicks, boxes and masks in, model tensors out.

Users give clicks and boxes in pixels of their image or frame (or in [0, 1] with
`normalize_coords=False`); the network takes them in pixels of its S x S input. A box is two
corner clicks labelled BOX_TOP_LEFT and BOX_BOTTOM_RIGHT, placed before the prompt's other
clicks. Every check here raises a ValueError that names the argument and what to pass instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from masklet.backend.arrays import ArrayOps, to_numpy
from masklet.backend.numpy_arrays import NumpyArrays

_NUMPY = NumpyArrays()

# Click labels understood by the prompt encoder (PAD marks a padding click).
PAD, NEGATIVE, POSITIVE, BOX_TOP_LEFT, BOX_BOTTOM_RIGHT = -1, 0, 1, 2, 3
VALID_LABELS = (PAD, NEGATIVE, POSITIVE, BOX_TOP_LEFT, BOX_BOTTOM_RIGHT)

# Earlier low-res logits fed back as a mask prompt are clamped to +-MASK_LOGIT_LIMIT.
MASK_LOGIT_LIMIT = 32.0


class Clicks(NamedTuple):
    """Clicks (box corners first) of B prompts in the model's input frame: numpy arrays from
    users, arrays of the model's backend in training."""

    coords: Any  # [B, N, 2] float32 (x, y) in model pixels
    labels: Any  # [B, N] int32

    def followed_by(self, more: Clicks, ops: ArrayOps = _NUMPY) -> Clicks:
        """These clicks, then `more` (same B; arrays of `ops`)."""
        return Clicks(ops.cat([self.coords, more.coords], 1), ops.cat([self.labels, more.labels], 1))


def user_clicks(
    point_coords, point_labels, box, width: int, height: int, image_size: int, normalize_coords: bool = True
) -> Clicks | None:
    """Checked clicks and boxes on a width x height image, in model pixels (None if neither).

    point_coords [N, 2] or [B, N, 2] (x, y) with point_labels [N] or [B, N]; box [4] or [B, 4]
    (x1, y1, x2, y2); pixels of the image, or [0, 1] units with `normalize_coords=False`.
    With both, prompt b is box b followed by the clicks of set b."""
    if (point_coords is None) != (point_labels is None):
        raise ValueError("point_coords and point_labels (points and their labels) must be given together")
    extent = np.array([width, height] if normalize_coords else [1, 1], dtype=np.float32)
    bounds = _Bounds(extent, width, height, normalize_coords)
    clicks = None if point_coords is None else _points(point_coords, point_labels, bounds)
    if box is not None:
        corners = _boxes(box, bounds)
        if clicks is not None and clicks.coords.shape[0] != corners.coords.shape[0]:
            raise ValueError(
                f"{corners.coords.shape[0]} boxes were given with {clicks.coords.shape[0]} sets of points; "
                "with several boxes pass point_coords as [B, N, 2], one set per box"
            )
        clicks = corners if clicks is None else corners.followed_by(clicks)
    if clicks is None:
        return None
    return Clicks((clicks.coords / extent * image_size).astype(np.float32), clicks.labels)


def binary_mask_prompt(mask, image_size: int) -> np.ndarray:
    """A 2-D mask [H, W] of one object -> [1, 1, S, S] binary float32 (resized with
    antialiasing, >= 0.5)."""
    array = to_numpy(mask)
    if array.ndim != 2:
        raise ValueError(f"mask must be 2-D [H, W] (one object), got shape {array.shape}")
    if array.size == 0:
        raise ValueError("mask is empty (zero size)")
    binary = array.astype(bool).astype(np.float32)[None, None]
    if tuple(binary.shape[-2:]) != (image_size, image_size):
        resized = _NUMPY.resize(binary, (image_size, image_size), antialias=True)
        binary = (resized >= 0.5).astype(np.float32)
    return binary


def low_res_mask_input(mask_input, size: tuple[int, int], num_prompts: int) -> np.ndarray:
    """Low-res logits from an earlier prediction, [1, h, w] or [B, 1, h, w] -> [B, 1, h, w]."""
    masks = as_float_array(mask_input, "mask_input")
    if masks.ndim == 3:
        masks = masks[None]
    if masks.ndim != 4 or masks.shape[1] != 1 or tuple(masks.shape[-2:]) != tuple(size):
        raise ValueError(
            f"mask_input must be low-res logits of shape [1, {size[0]}, {size[1]}] "
            f"(or [B, 1, ...]), as returned by predict; got {tuple(np.shape(mask_input))}"
        )
    if masks.shape[0] not in (1, num_prompts):
        raise ValueError(f"mask_input has {masks.shape[0]} masks for {num_prompts} prompts")
    return masks


def as_float_array(value, name: str) -> np.ndarray:
    """A finite float32 array (a copy) of an array-like argument called `name` (lists, numpy
    arrays, torch tensors)."""
    try:
        array = np.array(to_numpy(value), dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be numeric: {e}") from None
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


@dataclass(frozen=True)
class _Bounds:
    """Where user coordinates may lie: [0, extent] in pixels of a width x height image, or
    [0, 1] with coordinates given normalised."""

    extent: np.ndarray  # [2] (width, height) or (1, 1)
    width: int
    height: int
    in_pixels: bool

    def check(self, points: np.ndarray, what: str) -> None:
        """Raise if any (x, y) of points [K, 2] lies outside."""
        outside = (points < 0).any(-1) | (points > self.extent).any(-1)
        if bool(outside.any()):
            x, y = points[outside][0].tolist()
            unit, bound = (
                ("pixels", f"the {self.width}x{self.height} image") if self.in_pixels
                else ("normalised units", "[0, 1] (normalize_coords=False)")
            )
            raise ValueError(f"{what} ({x:g}, {y:g}) in {unit} lies outside {bound}")


def _points(point_coords, point_labels, bounds: _Bounds) -> Clicks:
    coords = as_float_array(point_coords, "point_coords")
    labels = to_numpy(point_labels)
    if labels.dtype.kind not in "iub" and not (labels.dtype.kind == "f" and np.all(labels == np.round(labels))):
        raise ValueError(f"point_labels must be integers, got {labels.dtype} values")
    labels = labels.astype(np.int32)
    if coords.size == 0:
        coords = coords.reshape(1, 0, 2)
    if coords.ndim == 2:
        coords = coords[None]
    if labels.ndim == 1:
        labels = labels[None]
    if coords.ndim != 3 or coords.shape[-1] != 2:
        raise ValueError(
            f"point_coords must have shape [N, 2] or [B, N, 2] (x, y), got {tuple(np.shape(point_coords))}"
        )
    if tuple(labels.shape) != tuple(coords.shape[:2]):
        raise ValueError(
            f"point_labels must have shape {tuple(coords.shape[:2])} to match point_coords, "
            f"got {tuple(np.shape(point_labels))}"
        )
    bad = sorted({int(v) for v in np.unique(labels)} - set(VALID_LABELS))
    if bad:
        raise ValueError(f"point_labels may only hold 1 (foreground) or 0 (background); got {bad}")
    bounds.check(coords[labels != PAD], "point")
    return Clicks(coords, labels)


def _boxes(box, bounds: _Bounds) -> Clicks:
    boxes = as_float_array(box, "box")
    if boxes.ndim == 1:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"box must have shape [4] or [B, 4] (x1, y1, x2, y2), got {tuple(np.shape(box))}")
    if bool((boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any()):
        raise ValueError("box must be x1, y1, x2, y2 with x1 <= x2 and y1 <= y2")
    corners = boxes.reshape(-1, 2, 2)  # [B, 2, 2]
    bounds.check(corners.reshape(-1, 2), "box corner")
    labels = np.tile(np.array([[BOX_TOP_LEFT, BOX_BOTTOM_RIGHT]], dtype=np.int32), (corners.shape[0], 1))
    return Clicks(corners, labels)
