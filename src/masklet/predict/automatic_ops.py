"""Building blocks of automatic mask generation: prompt grids, crop layouts, mask boxes, box
non-maximum suppression and run-length encoding (the stability score is the decoder's,
`masklet.backend.heads.stability_score`).

Boxes are XYXY. Boxes made from masks use inclusive pixel indices (a one-pixel mask at
(x, y) has the box (x, y, x, y)); crop boxes are half-open slices (x0, y0, x1, y1).
"""

from __future__ import annotations

import math
from itertools import pairwise, product

import numpy as np
import torch
from scipy import ndimage

_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


# ---------------------------------------------------------------------- prompt grids and crops


def point_grid(points_per_side: int) -> np.ndarray:
    """[n * n, 2] (x, y) points in [0, 1], centred in the cells of an n x n grid, row by row
    (x varies fastest)."""
    half_cell = 1 / (2 * points_per_side)
    centres = np.linspace(half_cell, 1 - half_cell, points_per_side)
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=-1)


def layer_point_grids(points_per_side: int, crop_n_layers: int, downscale_factor: int) -> list[np.ndarray]:
    """One grid per crop layer; layer i has int(points_per_side / downscale_factor**i) points
    per side."""
    return [point_grid(int(points_per_side / downscale_factor**layer)) for layer in range(crop_n_layers + 1)]


def crop_boxes(
    image_hw: tuple[int, int], crop_n_layers: int, overlap_ratio: float
) -> tuple[list[list[int]], list[int]]:
    """Crop boxes [x0, y0, x1, y1] and their layer index: the whole image (layer 0), then for
    layer i >= 1 a 2**i x 2**i tiling whose neighbouring tiles overlap by
    overlap_ratio * short side * 2 / 2**i pixels. Tiles are listed column by column."""
    height, width = image_hw
    short_side = min(height, width)
    boxes, layers = [[0, 0, width, height]], [0]
    for layer in range(1, crop_n_layers + 1):
        tiles_per_side = 2**layer
        overlap = int(overlap_ratio * short_side * (2 / tiles_per_side))
        tile_w = _tile_length(width, tiles_per_side, overlap)
        tile_h = _tile_length(height, tiles_per_side, overlap)
        starts_x = [int((tile_w - overlap) * i) for i in range(tiles_per_side)]
        starts_y = [int((tile_h - overlap) * i) for i in range(tiles_per_side)]
        for x0, y0 in product(starts_x, starts_y):
            boxes.append([x0, y0, min(x0 + tile_w, width), min(y0 + tile_h, height)])
            layers.append(layer)
    return boxes, layers


def _tile_length(length: int, tiles: int, overlap: int) -> int:
    """Length of each of `tiles` tiles covering `length` pixels with `overlap` between them."""
    return math.ceil((overlap * (tiles - 1) + length) / tiles)


# ---------------------------------------------------------------------- mask scores and boxes


def masks_to_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Bool masks [N, H, W] -> int64 boxes [N, 4]: inclusive (x_min, y_min, x_max, y_max) of
    the foreground, all zeros for an empty mask."""
    boxes = torch.zeros(masks.shape[0], 4, dtype=torch.int64, device=masks.device)
    if masks.shape[0] == 0:
        return boxes
    rows = masks.any(dim=-1)  # [N, H]
    cols = masks.any(dim=-2)  # [N, W]
    nonempty = rows.any(dim=-1)
    for axis, (occupied, size) in enumerate(((cols, masks.shape[-1]), (rows, masks.shape[-2]))):
        index = torch.arange(size, device=masks.device)
        boxes[:, axis] = torch.where(occupied, index, size).amin(dim=-1)
        boxes[:, axis + 2] = torch.where(occupied, index, -1).amax(dim=-1)
    return boxes * nonempty[:, None]


def xyxy_to_xywh(box) -> list:
    """[x0, y0, x1, y1] -> [x0, y0, x1 - x0, y1 - y0] as a list of Python numbers."""
    x0, y0, x1, y1 = (v.item() if hasattr(v, "item") else v for v in box)
    return [x0, y0, x1 - x0, y1 - y0]


def boxes_near_crop_edge(
    boxes: torch.Tensor, crop_box: list[int], image_box: list[int], tolerance: float = 20.0
) -> torch.Tensor:
    """[N] True for image-frame boxes [N, 4] with a side within `tolerance` pixels of a crop
    edge that is not also an image edge (the mask was probably cut off by the crop)."""
    boxes = boxes.float()
    crop = torch.as_tensor(crop_box, dtype=torch.float32, device=boxes.device)
    image = torch.as_tensor(image_box, dtype=torch.float32, device=boxes.device)
    near_crop = (boxes - crop).abs() <= tolerance
    near_image = (boxes - image).abs() <= tolerance
    return (near_crop & ~near_image).any(dim=1)


# ---------------------------------------------------------------------- non-maximum suppression


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas of XYXY boxes [N, 4] -> [N]."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(box: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """IoU of one XYXY box [4] with each of boxes [N, 4] -> [N] (NaN for two empty boxes)."""
    top_left = torch.maximum(box[:2], boxes[:, :2])
    bottom_right = torch.minimum(box[2:], boxes[:, 2:])
    overlap = (bottom_right - top_left).clamp(min=0).prod(dim=1)
    return overlap / (box_area(box[None]) + box_area(boxes) - overlap)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression: visiting boxes [N, 4] by decreasing score (ties in
    input order), keep a box unless a kept box overlaps it with IoU > iou_threshold.
    Returns the kept indices [K] in visiting order."""
    order = torch.sort(scores, descending=True, stable=True).indices
    boxes = boxes[order].float()
    suppressed = np.zeros(len(order), dtype=bool)
    kept = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        kept.append(i)
        overlaps = box_iou(boxes[i], boxes[i + 1 :]) > iou_threshold
        suppressed[i + 1 :] |= overlaps.cpu().numpy()
    return order[torch.as_tensor(kept, dtype=torch.int64, device=order.device)]


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, categories: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """`nms` within each category: boxes of different categories never suppress each other.
    Each category is moved to its own region of the plane, beyond the largest coordinate."""
    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int64, device=boxes.device)
    boxes = boxes.float()
    shift = categories.to(boxes) * (boxes.max() + 1)  # [N]
    return nms(boxes + shift[:, None], scores, iou_threshold)


# ---------------------------------------------------------------------- run-length encoding


def masks_to_uncompressed_rle(masks: torch.Tensor) -> list[dict]:
    """Bool masks [N, H, W] -> [{"size": [H, W], "counts": [run, ...]}]: lengths of alternating
    runs of 0s and 1s (0s first, possibly empty) in column-major order, as in COCO."""
    n, h, w = masks.shape
    flat = masks.transpose(1, 2).reshape(n, h * w)  # column-major pixel order
    changes = (flat[:, 1:] != flat[:, :-1]).nonzero()  # [M, 2] (mask, position)
    per_mask = torch.bincount(changes[:, 0], minlength=n).tolist()
    positions = (changes[:, 1] + 1).split(per_mask)
    starts_with_one = flat[:, 0].tolist() if h * w else [False] * n
    records = []
    for mask_positions, first in zip(positions, starts_with_one):
        bounds = [0, *mask_positions.tolist(), h * w]
        runs = [b - a for a, b in pairwise(bounds)]
        records.append({"size": [h, w], "counts": ([0] if first else []) + runs})
    return records


# ---------------------------------------------------------------------- small regions


def remove_small_regions(mask: np.ndarray, area_thresh: float, mode: str) -> tuple[np.ndarray, bool]:
    """Clean a bool mask [H, W] of 8-connected regions smaller than `area_thresh` pixels.

    mode "holes": background regions (the outer background included) that small become
    foreground. mode "islands": foreground regions that small become background, except that
    the largest region stays when all are small. Returns (mask, whether it changed)."""
    if mode not in ("holes", "islands"):
        raise ValueError(f"mode must be 'holes' or 'islands', got {mode!r}")
    mask = np.asarray(mask, dtype=bool)
    regions_of = ~mask if mode == "holes" else mask
    labels, count = ndimage.label(regions_of, structure=_EIGHT_CONNECTED)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]  # [count]
    small = sizes < area_thresh
    if not small.any():
        return mask, False
    small_labels = np.flatnonzero(small) + 1
    if mode == "holes":
        return mask | np.isin(labels, small_labels), True
    if small.all():
        return labels == int(np.argmax(sizes)) + 1, True
    return mask & ~np.isin(labels, small_labels), True
