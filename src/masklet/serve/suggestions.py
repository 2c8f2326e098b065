"""'Segment everything' on a frame: the automatic mask generator's masks, offered to the
annotator as suggestions; accepting one makes it a mask prompt of a new object (the first
phase of SAM 2's data engine)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from masklet.predict.automatic import MaskGenerator


@dataclass(frozen=True)
class Suggestion:
    counts: str  # COCO RLE counts at the frame's size
    area: int
    bbox: list[float]  # [x, y, w, h]
    predicted_iou: float
    stability_score: float


class SuggestionCache:
    """Suggestions per (media, frame), computed once and kept for the last `size` frames."""

    def __init__(self, model, points_per_side: int, iou_thresh: float | None = None,
                 stability_thresh: float | None = None, size: int = 16) -> None:
        """iou_thresh, stability_thresh: `MaskGenerator`'s filters; None: the model's own."""
        self.model, self.points_per_side, self.size = model, points_per_side, size
        self.iou_thresh, self.stability_thresh = iou_thresh, stability_thresh
        self._cache: OrderedDict[tuple[int, int], list[Suggestion]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, media_id: int, frame_idx: int, image: np.ndarray) -> list[Suggestion]:
        key = (media_id, frame_idx)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        generator = MaskGenerator(self.model, points_per_side=self.points_per_side, pred_iou_thresh=self.iou_thresh,
                                  stability_score_thresh=self.stability_thresh, output_mode="coco_rle")
        # Empty masks (which low thresholds let through) are nothing to offer an annotator.
        records = sorted((r for r in generator.generate(image) if r["area"] > 0), key=lambda r: -r["area"])
        found = [Suggestion(r["segmentation"]["counts"], int(r["area"]), [float(v) for v in r["bbox"]],
                            float(r["predicted_iou"]), float(r["stability_score"])) for r in records]
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return found

    def forget(self, media_id: int) -> None:
        with self._lock:
            for key in [k for k in self._cache if k[0] == media_id]:
                del self._cache[key]
