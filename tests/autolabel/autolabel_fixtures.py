"""Fixtures of the annotate / mine tests: a few COCO_MVal images with boxes from their ground
truth in all three box formats, and 8 frames of DAVIS blackswan at half size."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import require_shared_data
from PIL import Image

from masklet.autolabel import MineOptions

# One image each of a few COCO categories, objects large and small.
COCO_IMAGES = ("airplane00_000000281693", "cat00_000000197528", "elephant00_000000183648",
               "pizza00_000000197022", "toilet01_000000055002", "bird00_000000357060")
CLIP_FRAMES = 8
CLIP_SIZE = (427, 240)  # blackswan at half its 854 x 480
KEYFRAMES = (0, 4)
# Mining options for the bundled model, which scores its own masks low (predicted IoU ~0.05,
# stability ~0 at offset 1): the score thresholds off, the size limits kept.
NANO_MINING = MineOptions(keyframe_every=4, points_per_side=8, pred_iou_thresh=0.0, stability_score_thresh=0.0,
                          min_mean_stability=0.0)


@dataclass
class ImageSample:
    folder: Path  # the images
    gt: dict[str, np.ndarray]  # stem -> bool [H, W]
    boxes: dict[str, tuple[float, float, float, float]]  # stem -> x1, y1, x2, y2 of the GT mask
    coco: Path
    yolo: Path
    csv: Path


@dataclass
class Clip:
    videos: Path  # folder holding the frame folder `blackswan/`
    frames: Path
    gt: list[np.ndarray]  # bool [H, W] per frame
    boxes_csv: Path  # the GT box on each keyframe


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def write_box_files(folder: Path, sizes: dict[str, tuple[int, int]], boxes: dict[str, tuple], name: str = "object"):
    """The same boxes as COCO detection JSON, a YOLO detection folder and a CSV."""
    stems = sorted(boxes)
    coco = {
        "images": [{"id": n, "file_name": f"{s}.jpg", "height": sizes[s][0], "width": sizes[s][1]}
                   for n, s in enumerate(stems, start=1)],
        "annotations": [{"id": n, "image_id": n, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1]}
                        for n, s in enumerate(stems, start=1) for x1, y1, x2, y2 in [boxes[s]]],
        "categories": [{"id": 1, "name": name}],
    }
    (folder / "boxes.json").write_text(json.dumps(coco))
    yolo = folder / "yolo-boxes"
    yolo.mkdir()
    (yolo / "classes.txt").write_text(f"{name}\n")
    for s in stems:
        (h, w), (x1, y1, x2, y2) = sizes[s], boxes[s]
        (yolo / f"{s}.txt").write_text(f"0 {(x1 + x2) / 2 / w:.9f} {(y1 + y2) / 2 / h:.9f} {(x2 - x1) / w:.9f} {(y2 - y1) / h:.9f}\n")
    rows = [f"{s}.jpg,{x1:g},{y1:g},{x2:g},{y2:g},{name}" for s in stems for x1, y1, x2, y2 in [boxes[s]]]
    (folder / "boxes.csv").write_text("image,x1,y1,x2,y2,category\n" + "\n".join(rows) + "\n")
    return folder / "boxes.json", yolo, folder / "boxes.csv"


@pytest.fixture(scope="session")
def coco_sample(tmp_path_factory) -> ImageSample:
    data = require_shared_data() / "images-with-masks" / "COCO_MVal"
    root = tmp_path_factory.mktemp("coco-sample")
    folder = root / "images"
    folder.mkdir()
    gt, boxes, sizes = {}, {}, {}
    for stem in COCO_IMAGES:
        (folder / f"{stem}.jpg").write_bytes((data / "img" / f"{stem}.jpg").read_bytes())
        gt[stem] = np.asarray(Image.open(data / "gt" / f"{stem}.png").convert("L")) > 127
        boxes[stem] = mask_box(gt[stem])
        sizes[stem] = gt[stem].shape
    return ImageSample(folder, gt, boxes, *write_box_files(root, sizes, boxes))


@pytest.fixture(scope="session")
def swan_clip(tmp_path_factory) -> Clip:
    davis = require_shared_data() / "davis2016-val"
    videos = tmp_path_factory.mktemp("clip") / "videos"
    frames = videos / "blackswan"
    frames.mkdir(parents=True)
    gt, rows = [], []
    for t in range(CLIP_FRAMES):
        image = Image.open(davis / "JPEGImages" / "480p" / "blackswan" / f"{t:05d}.jpg").convert("RGB")
        image.resize(CLIP_SIZE, Image.BILINEAR).save(frames / f"{t:05d}.png")
        label = Image.open(davis / "Annotations" / "480p" / "blackswan" / f"{t:05d}.png").convert("L")
        gt.append(np.asarray(label.resize(CLIP_SIZE, Image.NEAREST)) > 127)
        if t in KEYFRAMES:
            x1, y1, x2, y2 = mask_box(gt[t])
            rows.append(f"blackswan/{t:05d}.jpg,{x1:g},{y1:g},{x2:g},{y2:g},swan")
    boxes_csv = videos.parent / "clip-boxes.csv"
    boxes_csv.write_text("image,x1,y1,x2,y2,category\n" + "\n".join(rows) + "\n")
    return Clip(videos, frames, gt, boxes_csv)


def tree(folder: Path) -> dict[str, bytes]:
    """{relative path: bytes} of every file under a folder."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
