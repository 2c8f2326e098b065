"""Masklets built up frame by frame: recording tracking results, matching masks by IoU, and
the masklets of a video as per-frame mask stacks for the SA-V and DAVIS writers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from masklet.backend.arrays import to_numpy
from masklet.backend.heads import stability_score
from masklet.predict.results import FrameResult

STABILITY_OFFSET = 1.0  # the logit shift of the stability score, as automatic mask generation uses


@dataclass
class Masklet:
    """One object through a video: its mask on the frames where it is visible."""

    category_id: int | None = None
    masks: dict[int, np.ndarray] = field(default_factory=dict)  # frame -> bool [H, W], non-empty
    stability: dict[int, float] = field(default_factory=dict)  # frame -> stability of its logits there

    def mask(self, frame_idx: int, shape: tuple[int, int]) -> np.ndarray:
        """bool [H, W] on a frame (empty where the object is not visible)."""
        found = self.masks.get(frame_idx)
        return found if found is not None else np.zeros(shape, bool)

    def mean_stability(self) -> float:
        return float(np.mean(list(self.stability.values()))) if self.stability else 0.0

    def mean_area(self) -> float:
        return float(np.mean([m.sum() for m in self.masks.values()])) if self.masks else 0.0

    def forget_from(self, frame_idx: int) -> None:
        """Drop every frame from `frame_idx` on (the object ended there)."""
        for frames in (self.masks, self.stability):
            for t in [t for t in frames if t >= frame_idx]:
                del frames[t]


def record(result: FrameResult, masklets: dict[int, Masklet]) -> None:
    """Store a tracked frame's masks and stability scores in the masklets of its objects."""
    masks = result.masks  # [N, H, W]
    stability = to_numpy(stability_score(result.logits, result.mask_threshold, STABILITY_OFFSET))  # [N]
    for row, obj_id in enumerate(result.obj_ids):
        masklet = masklets[obj_id]
        masklet.masks.pop(result.frame_idx, None)
        masklet.stability[result.frame_idx] = float(stability[row])
        if masks[row].any():
            masklet.masks[result.frame_idx] = masks[row]


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two bool masks [H, W] (0 when both are empty)."""
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def temporal_iou(a: Masklet, b: Masklet) -> float:
    """Intersection over union of two masklets summed over all frames."""
    inter = sum(np.count_nonzero(m & b.masks[t]) for t, m in a.masks.items() if t in b.masks)
    union = sum(np.count_nonzero(m) for m in a.masks.values()) + sum(np.count_nonzero(m) for m in b.masks.values()) - inter
    return inter / union if union else 0.0


def match_by_iou(first: list[np.ndarray], second: list[np.ndarray], threshold: float) -> list[tuple[int, int]]:
    """Pairs (i, j) of masks first[i] and second[j] matched greedily, highest IoU first, each
    mask at most once, only pairs with IoU >= threshold; ties go to the lower indices."""
    pairs = sorted(
        ((mask_iou(a, b), i, j) for i, a in enumerate(first) for j, b in enumerate(second)),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    used_first, used_second, matches = set(), set(), []
    for iou, i, j in pairs:
        if iou >= threshold and i not in used_first and j not in used_second:
            used_first.add(i)
            used_second.add(j)
            matches.append((i, j))
    return sorted(matches)


def frame_stacks(masklets: list[Masklet], num_frames: int, shape: tuple[int, int]) -> list[np.ndarray]:
    """Per frame, bool masks [N objects, H, W] of the masklets (in order)."""
    return [
        np.stack([m.mask(t, shape) for m in masklets]) if masklets else np.zeros((0, *shape), bool)
        for t in range(num_frames)
    ]
