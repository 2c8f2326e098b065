"""Annotating still images: each detection's box prompts the image predictor for its mask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from masklet.autolabel.detections import BoxError, Detection
from masklet.autolabel.detectors import Detector
from masklet.io.image import read_rgb


@dataclass
class AnnotatedImage:
    """An image's masks, one per kept detection, in detection order."""

    path: Path
    height: int
    width: int
    detections: list[Detection]
    masks: np.ndarray  # bool [N, H, W]
    predicted_ious: list[float]

    def scores(self) -> list[float]:
        """Each mask's score: its detection's score, else the predicted IoU of the mask."""
        return [d.score if d.score is not None else iou for d, iou in zip(self.detections, self.predicted_ious)]


def usable_detections(detections: list[Detection], width: int, height: int, where: str) -> tuple[list[Detection], list[str]]:
    """The detections clipped to the image, and one problem line per box that cannot be used."""
    kept, problems = [], []
    for detection in detections:
        try:
            kept.append(detection.clipped(width, height))
        except BoxError as e:
            problems.append(f"{where}: {e}; box skipped")
    return kept, problems


def box_masks(predictor, image: np.ndarray, detections: list[Detection]) -> tuple[np.ndarray, list[float]]:
    """Masks bool [N, H, W] and predicted IoUs of the detections' boxes on an RGB image."""
    height, width = image.shape[:2]
    if not detections:
        return np.zeros((0, height, width), bool), []
    predictor.set_image(image)
    boxes = np.array([d.box for d in detections], dtype=np.float32)  # [N, 4]
    masks, ious, _ = predictor.predict(box=boxes, multimask_output=False)
    return masks.reshape(len(detections), height, width), [float(v) for v in np.asarray(ious).reshape(-1)]


def annotate_image(predictor, detector: Detector, path: Path) -> tuple[AnnotatedImage, list[str]]:
    """One image's masks, and the problem lines of boxes that were skipped. Raises
    ImageReadError for a missing or unreadable image and BoxFileError for a malformed label."""
    image = read_rgb(path)
    height, width = image.shape[:2]
    detections, problems = usable_detections(detector.detect(image, path.stem), width, height, str(path))
    masks, ious = box_masks(predictor, image, detections)
    return AnnotatedImage(path, height, width, detections, masks, ious), problems
