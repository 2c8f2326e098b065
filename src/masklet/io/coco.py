"""COCO instance-segmentation JSON: `images`, `annotations` (one per instance mask, the mask as
compressed COCO RLE) and `categories`, loadable by pycocotools' `COCO`.

Each annotation carries `segmentation` ({"size": [H, W], "counts": str}; or, written with
`segmentation="polygons"`, a list of flat [x1, y1, x2, y2, ...] outlines in pixel-edge
coordinates, one per 4-connected piece of the mask, holes filled), `area` (pixel
count), `bbox` ([x, y, width, height] of the mask's pixels), `iscrowd`, `category_id` and,
for predictions, `score`. Image ids are 1, 2, ... in order unless given; annotation ids are
1, 2, ... over the whole file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from masklet.io._validate import as_mask
from masklet.io.atomic import write_text_atomic
from masklet.io.errors import AnnotationError, check_decoded_total, checked_mask_size
from masklet.io.polygons import outer_contours, rasterise_polygon
from masklet.io.rle import rle_decode, rle_encode


@dataclass
class CocoInstance:
    mask: np.ndarray  # bool [H, W]
    category_id: int
    score: float | None = None
    iscrowd: int = 0


@dataclass
class CocoImage:
    file_name: str
    height: int
    width: int
    instances: list[CocoInstance] = field(default_factory=list)
    id: int | None = None  # None: numbered 1, 2, ... by position when written


def mask_bbox(mask: np.ndarray) -> list[float]:
    """[x, y, width, height] of the pixels of a bool mask [H, W]; zeros for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return [0.0, 0.0, 0.0, 0.0]
    return [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1)]


SEGMENTATIONS = ("rle", "polygons")


def _segmentation(mask: np.ndarray, form: str):
    """A bool mask [H, W] as compressed RLE, or as the polygon outlines of its pieces."""
    if form == "rle":
        return rle_encode(mask)
    return [[round(float(v), 2) for v in contour.reshape(-1)] for contour in outer_contours(mask)]


def _annotation(instance: CocoInstance, image: CocoImage, image_id: int, annotation_id: int,
                categories: Mapping[int, str], segmentation: str) -> dict:
    where = f"image {image.file_name!r}, category {instance.category_id}"
    mask = as_mask(instance.mask, where)
    if mask.shape != (image.height, image.width):
        raise ValueError(f"{where}: mask shape {mask.shape} differs from the image's {(image.height, image.width)}")
    if int(instance.category_id) not in categories:
        raise ValueError(f"{where}: category id not in categories {sorted(categories)}; add it there")
    annotation = {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": int(instance.category_id),
        "segmentation": _segmentation(mask, segmentation),
        "area": int(mask.sum()),
        "bbox": mask_bbox(mask),
        "iscrowd": int(instance.iscrowd),
    }
    if instance.score is not None:
        annotation["score"] = float(instance.score)
    return annotation


def coco_dataset(images: Sequence[CocoImage], categories: Mapping[int, str], segmentation: str = "rle") -> dict:
    """The COCO JSON object (a dict) for `images` and `categories` ({id: name}); masks as
    `segmentation` "rle" or "polygons"."""
    if segmentation not in SEGMENTATIONS:
        raise ValueError(f"segmentation must be one of {', '.join(SEGMENTATIONS)}, got {segmentation!r}")
    categories = {int(k): str(v) for k, v in categories.items()}
    image_ids = [int(img.id) if img.id is not None else n for n, img in enumerate(images, start=1)]
    if len(set(image_ids)) != len(image_ids):
        raise ValueError(f"image ids must be distinct, got {image_ids}")
    annotations = []
    for image, image_id in zip(images, image_ids):
        for instance in image.instances:
            annotations.append(_annotation(instance, image, image_id, len(annotations) + 1, categories, segmentation))
    return {
        "images": [
            {"id": i, "file_name": img.file_name, "height": int(img.height), "width": int(img.width)}
            for img, i in zip(images, image_ids)
        ],
        "annotations": annotations,
        "categories": [{"id": k, "name": v} for k, v in sorted(categories.items())],
    }


def write_coco_json(path: str | Path, images: Sequence[CocoImage], categories: Mapping[int, str],
                    segmentation: str = "rle") -> Path:
    """Write `images` with their instance masks as a COCO JSON file (masks as `segmentation`
    "rle" or "polygons"); returns the path."""
    return write_text_atomic(path, json.dumps(coco_dataset(images, categories, segmentation)))


def _segmentation_mask(segmentation, height: int, width: int) -> np.ndarray:
    """An annotation's segmentation (RLE, uncompressed RLE or polygons) -> bool [H, W]."""
    if isinstance(segmentation, dict):
        return rle_decode(segmentation)
    # Polygons: lists of flat [x1, y1, x2, y2, ...] in pixel-edge coordinates, united.
    if not isinstance(segmentation, list) or not all(isinstance(p, list) and len(p) % 2 == 0 for p in segmentation):
        raise AnnotationError("a segmentation is an RLE dict or a list of polygons [x1, y1, x2, y2, ...]")
    mask = np.zeros((height, width), bool)
    for polygon in segmentation:
        mask |= rasterise_polygon(np.asarray(polygon, dtype=np.float64).reshape(-1, 2), height, width)
    return mask


def read_coco_json(path: str | Path) -> tuple[list[CocoImage], dict[int, str]]:
    """A COCO instance-segmentation JSON -> (images with their decoded instance masks in file
    order, categories {id: name}). Polygon segmentations are rasterised by pixel centres,
    which can differ from pycocotools' rasteriser along the outline."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise AnnotationError(f"the top level is a {type(data).__name__}, not an object")
        categories = {int(c["id"]): str(c["name"]) for c in data.get("categories", [])}
        images = {
            int(img["id"]): CocoImage(str(img["file_name"]), *checked_mask_size(img["height"], img["width"], f"image {img['id']}"),
                                      id=int(img["id"]))
            for img in data["images"]
        }
        decoded = 0
        for number, ann in enumerate(data.get("annotations", [])):
            image = images.get(int(ann["image_id"]))
            if image is None:
                raise ValueError(f"annotation {ann.get('id', number)} refers to unknown image {ann['image_id']}")
            decoded += image.height * image.width
            check_decoded_total(decoded, str(path))
            mask = _segmentation_mask(ann["segmentation"], image.height, image.width)
            if mask.shape != (image.height, image.width):
                raise ValueError(f"annotation {ann.get('id', number)}: mask size {mask.shape} differs from its image's")
            image.instances.append(
                CocoInstance(mask, int(ann["category_id"]), ann.get("score"), int(ann.get("iscrowd", 0)))
            )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, OverflowError, AttributeError) as e:
        raise AnnotationError(f"{path}: not a COCO instance-segmentation file ({type(e).__name__}: {e})") from None
    return list(images.values()), categories
