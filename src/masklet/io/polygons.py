"""Masks to polygons and back, in pixel-edge coordinates.

Pixel (col, row) is the unit square [col, col + 1] x [row, row + 1], so a polygon vertex
(x, y) is a pixel corner and a mask H x W spans [0, W] x [0, H].

`outer_contours` follows the cracks between object and background pixels around each
4-connected component, keeping only the corners where the walk turns. `rasterise_polygon`
marks the pixels whose centre lies inside (even-odd rule), which gives such a contour's
component back exactly, holes filled.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from masklet.io._validate import as_mask
from masklet.io.errors import AnnotationError

# Walking directions (dx, dy) with y pointing down, clockwise on screen: east, south, west, north.
_STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))
# For each direction, the pixels ahead-left and ahead-right of a corner (x, y), as offsets from
# the corner (the four pixels touching corner (x, y) are (x-1|x, y-1|y)).
_AHEAD_LEFT = ((0, -1), (0, 0), (-1, 0), (-1, -1))
_AHEAD_RIGHT = ((0, 0), (-1, 0), (-1, -1), (0, -1))


def _trace(component: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """Corners [K, 2] (x, y) of the outer boundary of `component` (bool, zero border of at
    least one pixel), walked clockwise with the object on the right, starting at the top-left
    corner of `start` = (x, y), its top-most then left-most pixel."""
    corners = [start]
    x, y = start
    direction = 0  # east, along the top edge of the start pixel
    while True:
        dx, dy = _STEPS[direction]
        x, y = x + dx, y + dy
        if (x, y) == start:
            return np.array(corners, dtype=np.float64)
        lx, ly = _AHEAD_LEFT[direction]
        rx, ry = _AHEAD_RIGHT[direction]
        if not component[y + ry, x + rx]:
            turn = 1  # the object ends ahead: turn right around it (diagonal pixels: not connected)
        elif component[y + ly, x + lx]:
            turn = -1  # the object continues ahead-left: turn left
        else:
            turn = 0
        if turn:
            direction = (direction + turn) % 4
            corners.append((x, y))


def outer_contours(mask) -> list[np.ndarray]:
    """The outer contour of each 4-connected component of a bool mask [H, W], as corner
    arrays [K, 2] (x, y) in pixel-edge coordinates (0..W, 0..H), in raster order of the
    components' top-left pixels. Holes are not traced."""
    mask = as_mask(mask)
    labels, _ = ndimage.label(np.pad(mask, 1))  # labels in raster order of first pixels
    contours = []
    for label, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1):
        # The component's box grown by one pixel (inside the pad), in box coordinates.
        component = labels[rows.start - 1 : rows.stop + 1, cols.start - 1 : cols.stop + 1] == label
        left = int(np.argmax(component[1]))
        # Box corner (1, 1) is padded pixel (cols.start, rows.start), i.e. mask pixel one less.
        offset = np.array([cols.start - 2, rows.start - 2], dtype=np.float64)
        contours.append(_trace(component, (left, 1)) + offset)
    return contours


def rasterise_polygon(polygon, height: int, width: int) -> np.ndarray:
    """bool [H, W]: the pixels whose centre lies inside the polygon [K, 2] (x, y) (even-odd)."""
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(points).all():
        raise AnnotationError("a polygon has a coordinate that is not a finite number")
    if len(points) < 3:
        return np.zeros((height, width), bool)
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    # Rows whose centre y = row + 0.5 lies in [min(y0, y1), max(y0, y1)) cross the edge once.
    first_row = np.clip(np.ceil(np.minimum(y0, y1) - 0.5), 0, height).astype(np.int64)
    end_row = np.clip(np.ceil(np.maximum(y0, y1) - 0.5), 0, height).astype(np.int64)
    spans = end_row - first_row
    edge = np.repeat(np.arange(len(points)), spans)
    row = np.repeat(first_row, spans) + (np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans))
    centre_y = row + 0.5
    cross_x = x0[edge] + (centre_y - y0[edge]) * (x1[edge] - x0[edge]) / (y1[edge] - y0[edge])
    # A crossing at x flips inside/outside for the pixels whose centre col + 0.5 is >= x.
    first_col = np.clip(np.ceil(cross_x - 0.5), 0, width).astype(np.int64)
    # Parity is all that counts, so one byte per pixel (a uint8 sum wraps at 256, which is even).
    flips = np.zeros((height, width + 1), np.uint8)
    np.add.at(flips, (row, first_col), 1)
    return (np.cumsum(flips, axis=1, dtype=np.uint8)[:, :width] % 2).astype(bool)
