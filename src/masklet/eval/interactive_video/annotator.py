"""The simulated annotator's rules, each written once.

  - prompt frame: `first`, the first annotated frame where the object is visible; `largest`,
    the annotated frame where it covers the most scored pixels (the earliest on ties);
  - first prompt: 1, 3 or 5 clicks placed one after another on the prompt frame, each at the
    deepest point of the largest error of the mask the segmenter returned for the clicks
    before (`masklet.eval.interactive.next_click`, the image benchmark's rule); or the box
    around the true mask; or the true mask itself;
  - worst frame: the annotated frame with the lowest J&F ((J + F) / 2 of that frame), the
    earliest on ties, skipping stalled frames: those where the last correction click changed
    nothing and whose mask has not changed since (the rule would place the same click on the
    same mask again); none when every other frame is perfect (nothing left to correct).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum

import numpy as np

from masklet.eval.interactive_video.data import VideoObject


class FirstPrompt(str, Enum):
    CLICKS1 = "clicks1"
    CLICKS3 = "clicks3"
    CLICKS5 = "clicks5"
    BOX = "box"
    MASK = "mask"

    @property
    def clicks(self) -> int:
        """Clicks placed by this prompt (0 for a box or a mask)."""
        return int(self.value[len("clicks"):]) if self.value.startswith("clicks") else 0


class PromptFrame(str, Enum):
    FIRST = "first"
    LARGEST = "largest"


@dataclass(frozen=True)
class Box:
    """x1, y1, x2, y2 in pixels (inclusive corners of the mask's pixels)."""

    x1: float
    y1: float
    x2: float
    y2: float

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


def choose_prompt_frame(obj: VideoObject, rule: PromptFrame) -> int:
    visible = obj.visible_frames()
    if not visible:
        raise ValueError(f"object {obj.obj_id} is never visible on an annotated frame: nothing to prompt")
    if rule is PromptFrame.FIRST:
        return visible[0]
    return max(visible, key=lambda t: (obj.area(t), -t))


def mask_box(mask: np.ndarray) -> Box:
    """The box around a non-empty bool mask [H, W]."""
    ys, xs = np.nonzero(mask)
    return Box(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


def worst_frame(frame_scores: dict[int, float], stalled: Collection[int] = ()) -> int | None:
    """The frame with the lowest J&F (earliest on ties) that is not stalled, or None when all
    others are perfect."""
    candidates = sorted((t, score) for t, score in frame_scores.items() if t not in stalled)
    if not candidates:
        return None
    frame, score = min(candidates, key=lambda item: item[1])
    return None if score >= 1.0 else frame
