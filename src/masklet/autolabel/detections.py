"""Detections: the boxes that prompt annotation, and how one is checked against its image."""

from __future__ import annotations

from dataclasses import dataclass

from masklet.errors import MaskletError


class BoxError(MaskletError, ValueError):
    """A detection box that cannot prompt the model on its image."""


@dataclass(frozen=True)
class Detection:
    """One detected object: a box in image pixels (x1, y1, x2, y2), its category and score."""

    box: tuple[float, float, float, float]
    category_id: int
    score: float | None = None

    def clipped(self, width: int, height: int) -> Detection:
        """The box cut to a width x height image; BoxError when nothing of it lies inside
        or its corners are in the wrong order."""
        x1, y1, x2, y2 = self.box
        if not (x1 <= x2 and y1 <= y2):
            raise BoxError(f"box {self.describe()} has x2 < x1 or y2 < y1; give x1, y1, x2, y2")
        inside = (min(max(x1, 0.0), width), min(max(y1, 0.0), height),
                  min(max(x2, 0.0), width), min(max(y2, 0.0), height))
        if inside[2] - inside[0] <= 0 or inside[3] - inside[1] <= 0:
            raise BoxError(f"box {self.describe()} lies outside the {width}x{height} image")
        return Detection(inside, self.category_id, self.score)

    def describe(self) -> str:
        return "[" + ", ".join(f"{v:g}" for v in self.box) + "]"
