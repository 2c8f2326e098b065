"""Interactive (click-based) image segmentation benchmark.

A simulated user clicks at the point deepest inside the largest error region: on the
false-negative region (a positive click) if it is deeper than the false-positive region,
else on the false-positive region (a negative click). Depth is the Euclidean distance to the
region's border, with the image border counting as border. Pixels with the ignore label (e.g.
GrabCut's 128 band) are neither errors nor counted in IoU. Reported: mean IoU after 1 and 5
clicks and NoC@85 / NoC@90 (clicks needed to reach that IoU, `max_clicks` when never).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np
from scipy import ndimage
from tqdm import tqdm

from masklet.io.image import IMAGE_SUFFIXES, read_grey, read_rgb

IGNORE = 128


@dataclass(frozen=True)
class Click:
    x: int
    y: int
    positive: bool


def next_click(truth: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None) -> Click:
    """The simulated user's next click for boolean masks [H, W]."""
    valid = np.ones_like(truth, bool) if ignore is None else ~ignore
    false_neg = truth & ~pred & valid
    false_pos = ~truth & pred & valid
    fn_depth = _depth(false_neg)
    fp_depth = _depth(false_pos)
    positive = fn_depth.max() > fp_depth.max()
    depth = fn_depth if positive else fp_depth
    y, x = np.argwhere(depth == depth.max())[0]  # first in row-major order on ties
    return Click(int(x), int(y), bool(positive))


def _depth(region: np.ndarray) -> np.ndarray:
    """Distance of each region pixel to the nearest non-region pixel or the image border."""
    padded = np.pad(region, 1)
    return ndimage.distance_transform_edt(padded)[1:-1, 1:-1]


def iou(truth: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None) -> float:
    valid = np.ones_like(truth, bool) if ignore is None else ~ignore
    union = np.sum((truth | pred) & valid)
    return 1.0 if union == 0 else float(np.sum(truth & pred & valid) / union)


class ClickSegmenter(Protocol):
    """Anything that segments an image from clicks."""

    def set_image(self, image: np.ndarray) -> None: ...

    def predict_clicks(self, clicks: list[Click]) -> np.ndarray: ...


@dataclass
class FramePrompt:
    """Everything an image predictor has been told about one object on one image: an optional
    box, the clicks in order, and the low-res logits of its last answer (fed back as mask input)."""

    clicks: list[Click] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2 pixels
    logits: np.ndarray | None = None  # [1, 256, 256] (the predictor's low-res size)


def predict_frame(predictor, prompt: FramePrompt) -> np.ndarray:
    """Ask an `ImagePredictor` (its image already set) for the mask of `prompt`, the way SAM is
    evaluated interactively: multimask output for a lone first click (the best-scored mask is
    kept), else one mask from the box, all clicks and the previous logits as mask input.
    Stores the new logits in `prompt`; returns the bool mask [H, W]."""
    coords = np.array([[c.x, c.y] for c in prompt.clicks], np.float32) if prompt.clicks else None
    labels = np.array([int(c.positive) for c in prompt.clicks], np.int32) if prompt.clicks else None
    box = None if prompt.box is None else np.array(prompt.box, np.float32)
    lone_click = prompt.box is None and len(prompt.clicks) == 1
    masks, scores, logits = predictor.predict(
        point_coords=coords, point_labels=labels, box=box, mask_input=prompt.logits, multimask_output=lone_click
    )
    best = int(np.argmax(scores))
    prompt.logits = logits[best : best + 1]
    return masks[best]


class PredictorClicker:
    """Drives an `ImagePredictor` through the clicks of one image with `predict_frame`'s rule."""

    def __init__(self, predictor) -> None:
        self.predictor = predictor
        self._prompt = FramePrompt()

    def set_image(self, image: np.ndarray) -> None:
        self.predictor.set_image(image)
        self._prompt = FramePrompt()

    def predict_clicks(self, clicks: list[Click]) -> np.ndarray:
        self._prompt.clicks = list(clicks)
        return predict_frame(self.predictor, self._prompt)


def click_ious(segmenter: ClickSegmenter, image: np.ndarray, truth: np.ndarray,
               ignore: np.ndarray | None = None, max_clicks: int = 20) -> list[float]:
    """IoU after each of `max_clicks` simulated clicks on one image."""
    segmenter.set_image(image)
    pred = np.zeros_like(truth, bool)
    clicks: list[Click] = []
    ious = []
    for _ in range(max_clicks):
        clicks.append(next_click(truth, pred, ignore))
        pred = np.asarray(segmenter.predict_clicks(clicks), bool)
        ious.append(iou(truth, pred, ignore))
    return ious


def summarize(all_ious: list[list[float]], max_clicks: int = 20) -> dict[str, float]:
    """mIoU@1, mIoU@5, NoC@85, NoC@90 over images."""
    arr = np.array(all_ious)

    def noc(threshold: float) -> float:
        reached = arr >= threshold
        counts = np.where(reached.any(1), reached.argmax(1) + 1, max_clicks)
        return float(counts.mean())

    return {
        "mIoU@1": float(arr[:, 0].mean()),
        "mIoU@5": float(arr[:, min(4, arr.shape[1] - 1)].mean()),
        "NoC@85": noc(0.85),
        "NoC@90": noc(0.90),
        "images": int(arr.shape[0]),
    }


def image_mask_folders(root: str | Path) -> tuple[Path, Path]:
    """(image folder, mask folder) of a GrabCut-style (data_GT + boundary_GT) or
    COCO_MVal-style (img + gt) dataset folder."""
    root = Path(root)
    for images, masks in (("data_GT", "boundary_GT"), ("img", "gt")):
        if (root / images).is_dir() and (root / masks).is_dir():
            return root / images, root / masks
    raise ValueError(f"{root}: expected data_GT/ + boundary_GT/ or img/ + gt/ folders")


def image_paths(root: str | Path) -> list[Path]:
    """The dataset folder's images in name order."""
    images, _ = image_mask_folders(root)
    return sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_image_mask_folder(
    root: str | Path, limit: int | None = None
) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]:
    """(name, RGB image, truth mask, ignore mask or None) for GrabCut-style (data_GT +
    boundary_GT, 255 object / 128 ignore) or COCO_MVal-style (img + gt, 0/255) folders;
    the first `limit` images only when given."""
    _, masks = image_mask_folders(root)
    for image_path in image_paths(root)[:limit]:
        yield read_image_mask(image_path, masks)


def read_image_mask(image_path: Path, masks: Path) -> tuple[str, np.ndarray, np.ndarray, np.ndarray | None]:
    """One image of such a folder and its mask (same stem, .bmp or .png, in `masks`)."""
    candidates = [masks / (image_path.stem + ext) for ext in (".bmp", ".png")]
    mask_path = next((p for p in candidates if p.exists()), None)
    if mask_path is None:
        raise ValueError(f"no mask for {image_path} in {masks}")
    image = read_rgb(image_path)
    labels = read_grey(mask_path)
    ignore = labels == IGNORE
    return image_path.stem, image, labels > IGNORE, (ignore if ignore.any() else None)


def run_interactive(segmenter: ClickSegmenter, root: str | Path, max_clicks: int = 20,
                    limit: int | None = None, progress: bool = True) -> dict:
    """Benchmark `segmenter` on an image+mask folder (its first `limit` images when given);
    returns the summary and per-image IoUs."""
    count = len(image_paths(root)[:limit])
    if count == 0:
        raise ValueError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) to benchmark")
    per_image = {}
    items = read_image_mask_folder(root, limit)
    for name, image, truth, ignore in tqdm(items, total=count, desc="images", unit="img", disable=not progress):
        per_image[name] = click_ious(segmenter, image, truth, ignore, max_clicks)
    return {"summary": summarize(list(per_image.values()), max_clicks), "per_image": per_image}
