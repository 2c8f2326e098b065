"""Class-agnostic mask AP / AR of automatic mask generation, with the COCO protocol
(pycocotools' COCOeval, IoU thresholds 0.50:0.95, at most 100 masks per image).

Every mask is one category; a generated mask's score is its `predicted_iou`. Area-range
figures (AP_small, ...) are None where no ground truth falls in the range (COCO's -1).
pycocotools is optional: `pip install pycocotools` (or the `masklet[eval]` extra).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
from tqdm import tqdm

from masklet.io.davis import read_davis_png
from masklet.io.image import IMAGE_SUFFIXES, read_rgb

STAT_NAMES = (
    "AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large",
    "AR@1", "AR@10", "AR@100", "AR_small", "AR_medium", "AR_large",
)
CATEGORY = 1


def _pycocotools():
    try:
        from pycocotools import mask as mask_utils
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise ImportError(
            "mask AP needs pycocotools, which is not installed: pip install pycocotools "
            "(or pip install 'masklet[eval]')"
        ) from None
    return mask_utils, COCO, COCOeval


def evaluate_mask_ap(gt: list, predictions: list[list[dict]]) -> dict[str, float | None]:
    """AP, AP50, AP75, AR@1/10/100 and their area-range variants, in fractions.

    gt: per image, a list of [H, W] bool masks (one per instance).
    predictions: per image, the records of `MaskGenerator.generate` (`segmentation` as a
      bool mask or a COCO RLE dict, `predicted_iou` the score).
    """
    mask_utils, COCO, COCOeval = _pycocotools()
    if len(gt) != len(predictions):
        raise ValueError(f"{len(gt)} images of ground truth but {len(predictions)} of predictions")
    images, truths, detections = [], [], []
    for image_id, (masks, records) in enumerate(zip(gt, predictions), start=1):
        image_truths = [_annotation(mask_utils, len(truths) + i + 1, image_id, m) for i, m in enumerate(masks)]
        image_detections = []
        for record in records:
            detection = _annotation(mask_utils, len(detections) + len(image_detections) + 1, image_id, record["segmentation"])
            detection["score"] = float(record["predicted_iou"])
            image_detections.append(detection)
        sizes = {tuple(a["segmentation"]["size"]) for a in image_truths + image_detections}
        if len(sizes) > 1:
            raise ValueError(f"image {image_id - 1}: masks of different sizes {sorted(sizes)} (height, width)")
        height, width = sizes.pop() if sizes else (0, 0)
        images.append({"id": image_id, "height": height, "width": width})
        truths += image_truths
        detections += image_detections
    if not truths:
        raise ValueError("the ground truth has no masks: mask AP is undefined")
    evaluator = COCOeval(_coco(COCO, images, truths), _coco(COCO, images, detections), iouType="segm")
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: (None if value < 0 else float(value)) for name, value in zip(STAT_NAMES, evaluator.stats)}


def _annotation(mask_utils, ann_id: int, image_id: int, segmentation) -> dict:
    if isinstance(segmentation, dict):
        rle = segmentation
        if isinstance(rle["counts"], list):
            rle = mask_utils.frPyObjects(rle, *rle["size"])
    else:
        rle = mask_utils.encode(np.asfortranarray(np.asarray(segmentation, dtype=np.uint8)))
    return {
        "id": ann_id, "image_id": image_id, "category_id": CATEGORY, "segmentation": rle, "iscrowd": 0,
        "area": float(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)],
    }


def _coco(COCO, images: list[dict], annotations: list[dict]):
    dataset = COCO()
    dataset.dataset = {"images": images, "annotations": annotations, "categories": [{"id": CATEGORY, "name": "object"}]}
    with contextlib.redirect_stdout(io.StringIO()):
        dataset.createIndex()
    return dataset


def read_instance_masks(path: str | Path) -> list[np.ndarray]:
    """The instances of a ground-truth PNG: one bool mask per distinct non-zero value (a 0/255
    mask is one instance)."""
    labels = read_davis_png(path)
    return [labels == value for value in np.unique(labels) if value != 0]


def image_mask_pairs(images_dir: str | Path, gt_dir: str | Path, limit: int | None = None) -> list[tuple[Path, Path]]:
    """(image, ground-truth PNG of the same stem) pairs of two folders, in name order."""
    images_dir, gt_dir = Path(images_dir), Path(gt_dir)
    for folder, what in ((images_dir, "images"), (gt_dir, "ground truth")):
        if not folder.is_dir():
            raise ValueError(f"{what} folder {folder} does not exist")
    images = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not images:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {images_dir}")
    pairs = [(image, gt_dir / f"{image.stem}.png") for image in images]
    missing = [str(mask) for _, mask in pairs if not mask.exists()]
    if missing:
        raise ValueError(f"no ground truth for {len(missing)} images, e.g. {missing[0]}")
    return pairs


def run_mask_ap(generator, images_dir: str | Path, gt_dir: str | Path, limit: int | None = None,
                show_progress: bool = True) -> dict:
    """Generate masks for each image of `images_dir` with a `MaskGenerator` and score them
    against `gt_dir/<image stem>.png`. Returns the `evaluate_mask_ap` figures plus "images"."""
    _pycocotools()
    gt, predictions = [], []
    for image_path, mask_path in tqdm(image_mask_pairs(images_dir, gt_dir, limit), desc="mask AP", unit="img",
                                      disable=not show_progress):
        gt.append(read_instance_masks(mask_path))
        predictions.append(generator.generate(read_rgb(image_path)))
    return {**evaluate_mask_ap(gt, predictions), "images": len(gt)}
