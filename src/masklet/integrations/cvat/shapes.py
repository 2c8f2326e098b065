"""CVAT shapes to masks and back.

CVAT keeps a "mask" shape as run lengths of the mask cropped to its box followed by the box
(`cvat_sdk.masks.encode_mask` / `decode_mask`), a "polygon" as flat vertices [x0, y0, x1, y1,
...] and a "rectangle" as [x1, y1, x2, y2], all in image pixels. Polygons and rectangles here
use pixel-edge coordinates (pixel (col, row) is the square [col, col + 1] x [row, row + 1], see
`masklet.io.polygons`), so a mask written as a polygon reads back as the same pixels.
"""

from __future__ import annotations

import numpy as np
from cvat_sdk.masks import decode_mask, encode_mask

from masklet.integrations.cvat import CvatShapeError
from masklet.io.polygons import outer_contours, rasterise_polygon

SHAPE_TYPES = frozenset({"mask", "polygon", "rectangle"})


def shape_mask(shape_type: str, points, height: int, width: int) -> np.ndarray:
    """The pixels [H, W] bool a "mask" or "polygon" shape covers on a height x width image
    (at least one)."""
    if shape_type == "mask":
        try:
            mask = decode_mask(list(points), image_width=width, image_height=height)
        except ValueError as e:
            raise CvatShapeError(f"the mask shape does not fit the {width}x{height} image: {e}") from None
    elif shape_type == "polygon":
        vertices = np.asarray(points, dtype=np.float64)
        if vertices.size < 6 or vertices.size % 2:
            raise CvatShapeError(f"a polygon needs at least 3 (x, y) vertices, got {vertices.size} numbers")
        mask = rasterise_polygon(vertices.reshape(-1, 2), height, width)
    else:
        raise CvatShapeError(f"a {shape_type!r} shape has no mask; expected 'mask' or 'polygon'")
    if not mask.any():
        raise CvatShapeError(f"the {shape_type} covers no pixel of the {width}x{height} image")
    return mask


def rectangle_box(points) -> list[float]:
    """A "rectangle" shape's [x1, y1, x2, y2], checked."""
    box = [float(p) for p in points]
    if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
        raise CvatShapeError(f"a rectangle needs [x1, y1, x2, y2] with x1 < x2 and y1 < y2, got {box}")
    return box


def mask_shape_points(shape_type: str, mask: np.ndarray) -> list[float] | None:
    """A mask [H, W] bool as the points of a shape of `shape_type`, or None for an empty mask.

    "mask": CVAT's encoding, cropped to the mask's box; "polygon": the outline of the mask's
    largest 4-connected part (a CVAT polygon is one ring; holes are filled); "rectangle": the
    mask's box."""
    if not mask.any():
        return None
    if shape_type == "mask":
        return encode_mask(mask)
    if shape_type == "polygon":
        largest = max(outer_contours(mask), key=_enclosed_area)  # [K, 2] (x, y)
        return largest.reshape(-1).tolist()
    if shape_type == "rectangle":
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        return [float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)]
    raise CvatShapeError(f"cannot write a mask as a {shape_type!r} shape; expected one of {sorted(SHAPE_TYPES)}")


def _enclosed_area(vertices: np.ndarray) -> float:
    """Area inside a closed polygon [K, 2] (shoelace formula)."""
    x, y = vertices[:, 0], vertices[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2
