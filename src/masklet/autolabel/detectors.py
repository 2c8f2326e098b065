"""The detector interface of annotation, and an adapter for Ultralytics YOLO detectors.

A detector gives the boxes of one image or video frame (`detect`) and says on which frames of a
video it has detections to offer (`keyframes`); its `categories` ({id: name}) are carried into
the outputs. Detectors travel to worker processes by pickling, so they load heavy state lazily.
The box-file detectors are in `masklet.autolabel.box_files`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np

from masklet.autolabel.detections import Detection

DEFAULT_KEYFRAME_EVERY = 10


@runtime_checkable
class Detector(Protocol):
    @property
    def categories(self) -> Mapping[int, str]: ...

    def detect(self, image: np.ndarray, key: str) -> list[Detection]:
        """Boxes on an RGB image [H, W, 3] uint8 whose key is `key` (see box_files)."""

    def keyframes(self, video: str, num_frames: int) -> list[int]:
        """The frames of a video with `num_frames` frames on which to detect, ascending."""


class UltralyticsDetector:
    """An Ultralytics detection model (e.g. `yolo11n.pt`) as a Detector.

    Needs the `ultralytics` package and the weights file on disk; nothing is downloaded here.
    `model` may be an already loaded Ultralytics model (anything whose call returns results with
    `boxes.xyxy`, `boxes.cls`, `boxes.conf` and which has `names`). Videos are detected on every
    `every`-th frame; boxes scoring below `conf` are dropped.
    """

    def __init__(self, weights: str | None = None, every: int = DEFAULT_KEYFRAME_EVERY, conf: float = 0.25,
                 model=None) -> None:
        if weights is None and model is None:
            raise ValueError("give the detector's weights file (e.g. yolo11n.pt) or a loaded model")
        if every < 1:
            raise ValueError(f"every must be >= 1 (detect on every N-th frame), got {every}")
        self.weights = weights
        self.every = every
        self.conf = conf
        self._model = model

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.weights is not None:
            state["_model"] = None  # each worker loads the weights itself
        return state

    @property
    def model(self):
        if self._model is None:
            try:
                from ultralytics import YOLO
            except ImportError:
                raise ImportError(
                    "the Ultralytics detector needs the ultralytics package: pip install ultralytics "
                    "(or give boxes from a file with --boxes)"
                ) from None
            self._model = YOLO(self.weights)
        return self._model

    @property
    def categories(self) -> dict[int, str]:
        return {int(k): str(v) for k, v in sorted(dict(self.model.names).items())}

    def detect(self, image: np.ndarray, key: str) -> list[Detection]:
        # Ultralytics takes numpy images as BGR (OpenCV order).
        results = self.model(np.ascontiguousarray(image[..., ::-1]), conf=self.conf, verbose=False)
        boxes = results[0].boxes
        xyxy, classes, scores = (_as_numpy(v) for v in (boxes.xyxy, boxes.cls, boxes.conf))
        return [
            Detection(tuple(float(v) for v in box), int(category), float(score))
            for box, category, score in zip(xyxy.reshape(-1, 4), classes.reshape(-1), scores.reshape(-1))
        ]

    def keyframes(self, video: str, num_frames: int) -> list[int]:
        return list(range(0, num_frames, self.every))


def _as_numpy(value) -> np.ndarray:
    """A torch tensor or array-like -> numpy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)
