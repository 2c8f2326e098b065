"""J and F of one object's current masks, per annotated frame and for the whole video.

Every annotated frame is scored (also the first and the last, unlike the semi-supervised
protocol: the prompt can be on any frame and single-frame videos have no other), with the
DAVIS evaluator's J and F (`masklet.eval.vos_metrics`, void pixels ignored). The video's J&F
is (mean J + mean F) / 2 over the annotated frames. A frame is rescored only when its mask
changed, and F is computed on the box around both masks (`boundary_in_box`, equal to F on the
whole frame, several times faster on small objects).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from masklet.eval.interactive_video.data import VideoObject
from masklet.eval.vos_metrics import (
    BOUNDARY_TOLERANCE,
    boundary_measure,
    region_similarity,
)


@dataclass(frozen=True)
class VideoScore:
    J: float
    F: float

    @property
    def JF(self) -> float:
        return (self.J + self.F) / 2


class ObjectScorer:
    """The object's masks on its annotated frames (empty until a segmenter gives one) and
    their scores."""

    def __init__(self, obj: VideoObject) -> None:
        self.obj = obj
        self.masks = {t: np.zeros_like(truth) for t, truth in obj.truth.items()}
        self._j: dict[int, float] = {}
        self._f: dict[int, float] = {}
        for t in obj.truth:
            self._score(t)

    def update(self, frame_idx: int, mask: np.ndarray) -> None:
        """Take a new mask [H, W] for a frame (ignored on frames without annotation)."""
        if frame_idx not in self.masks:
            return
        mask = np.asarray(mask, bool)
        if mask.shape != self.masks[frame_idx].shape:
            raise ValueError(f"frame {frame_idx}: mask of shape {mask.shape}, annotation {self.masks[frame_idx].shape}")
        if not np.array_equal(mask, self.masks[frame_idx]):
            self.masks[frame_idx] = mask
            self._score(frame_idx)

    def _score(self, t: int) -> None:
        truth, void, mask = self.obj.truth[t], self.obj.void[t], self.masks[t]
        self._j[t] = float(region_similarity(truth, mask, void))
        self._f[t] = boundary_in_box(truth, mask, void)

    def frame_scores(self) -> dict[int, float]:
        """Annotated frame -> its J&F."""
        return {t: (self._j[t] + self._f[t]) / 2 for t in self._j}

    def video_score(self) -> VideoScore:
        return VideoScore(float(np.mean(list(self._j.values()))), float(np.mean(list(self._f.values()))))


def boundary_in_box(truth: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> float:
    """`boundary_measure` (F, the DAVIS tolerance of the whole frame) computed on the box
    around both masks' scored pixels plus a one-pixel margin. Equal to it: both boundaries lie
    inside the box, the margin (or the frame's own border) gives the box's border rows and
    columns the same boundary pixels as in the frame, and the distance from a boundary pixel to
    the nearest pixel of the other boundary is the same inside the box."""
    if void is not None:
        keep = ~void.astype(bool)
        truth, pred = truth & keep, pred & keep
    radius = math.ceil(BOUNDARY_TOLERANCE * math.hypot(*truth.shape))
    either = truth | pred
    rows, cols = np.flatnonzero(either.any(1)), np.flatnonzero(either.any(0))
    if rows.size == 0:
        return 1.0  # no boundary in either
    top, left = max(rows[0] - 1, 0), max(cols[0] - 1, 0)
    box = np.s_[top : rows[-1] + 2, left : cols[-1] + 2]
    return boundary_measure(truth[box], pred[box], tolerance=radius)
