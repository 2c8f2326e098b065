"""YOLO segmentation labels: one `.txt` per image, one line per polygon,
`<class> x1 y1 x2 y2 ...` with x / width and y / height in [0, 1]; class names in
`classes.txt`, one per line (the line number, from 0, is the class id).

Each connected component of a mask becomes its own line (its outer contour; holes are
filled), so an object in several pieces reads back as several instances of its class.
Vertices are pixel corners (see `masklet.io.polygons`), so reading a label back with the same
image size restores each component exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from masklet.io._validate import as_mask_stack
from masklet.io.atomic import write_text_atomic
from masklet.io.errors import AnnotationError, check_decoded_total, checked_mask_size
from masklet.io.polygons import outer_contours, rasterise_polygon


def masks_to_yolo_polygons(masks, class_ids: Sequence[int]) -> list[str]:
    """Bool masks [N, H, W] and a class id (>= 0) per mask -> YOLO label lines (no newline).
    Empty masks give no line."""
    masks = as_mask_stack(masks)
    classes = [int(c) for c in class_ids]
    if len(classes) != len(masks):
        raise ValueError(f"class_ids: {len(classes)} ids for {len(masks)} masks; give one class per mask")
    if any(c < 0 for c in classes):
        raise ValueError(f"class ids must be >= 0, got {classes}")
    height, width = masks.shape[1:]
    scale = np.array([width, height], dtype=np.float64)
    lines = []
    for mask, class_id in zip(masks, classes):
        for contour in outer_contours(mask):
            coords = " ".join(f"{v:.6f}" for v in (contour / scale).reshape(-1))
            lines.append(f"{class_id} {coords}")
    return lines


def write_yolo_labels(path: str | Path, masks, class_ids: Sequence[int]) -> Path:
    """Write one image's masks as a YOLO segmentation label file."""
    lines = masks_to_yolo_polygons(masks, class_ids)
    return write_text_atomic(path, "".join(line + "\n" for line in lines))


def read_yolo_labels(path: str | Path, height: int, width: int) -> tuple[np.ndarray, list[int]]:
    """A YOLO segmentation label file -> (bool masks [lines, H, W], class ids), one mask per
    line, rasterised at the image size (pixels whose centre is inside the polygon)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise AnnotationError(f"{path}: cannot read the label file ({getattr(e, 'strerror', None) or e})") from None
    height, width = checked_mask_size(height, width, str(path))
    check_decoded_total(height * width * sum(1 for line in text.splitlines() if line.split()), str(path))
    masks, classes = [], []
    scale = np.array([width, height], dtype=np.float64)
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            class_id = int(fields[0])
            coords = np.array([float(v) for v in fields[1:]], dtype=np.float64)
        except ValueError:
            raise AnnotationError(f"{path}:{number}: expected '<class> x1 y1 x2 y2 ...' numbers, got {line!r}") from None
        if len(coords) < 6 or len(coords) % 2 or not np.isfinite(coords).all():
            raise AnnotationError(
                f"{path}:{number}: a polygon needs at least 3 finite (x, y) pairs, got {len(coords)} numbers "
                "(box labels '<class> cx cy w h' are not segmentation labels)"
            )
        masks.append(rasterise_polygon(coords.reshape(-1, 2) * scale, height, width))
        classes.append(class_id)
    stacked = np.stack(masks) if masks else np.zeros((0, height, width), bool)
    return stacked, classes


def write_yolo_classes(path: str | Path, names: Sequence[str]) -> Path:
    """Write `classes.txt`: name of class i on line i (from 0)."""
    names = [str(n) for n in names]
    bad = [n for n in names if not n.strip() or "\n" in n or "\r" in n]
    if bad:
        raise ValueError(f"class names must be non-empty single lines, got {bad!r}")
    return write_text_atomic(path, "".join(n + "\n" for n in names))


def read_yolo_classes(path: str | Path) -> list[str]:
    """`classes.txt` -> class names by id (blank trailing lines ignored)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ValueError(f"{path}: cannot read the class list ({e.strerror or e})") from None
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.strip() for line in lines]
