"""The settings of a run that every worker needs: which model, and how to annotate or mine."""

from __future__ import annotations

from dataclasses import dataclass

BUNDLED_MODEL = "masklet-nano"


@dataclass(frozen=True)
class ModelSpec:
    """A model as workers load it: an official name or checkpoint path (None: the bundled
    masklet-nano), a device and an arithmetic (a `load_model` dtype name: float32, bfloat16,
    float16, int8 or auto)."""

    source: str | None = None
    device: str = "cpu"
    dtype: str = "float32"

    def load(self):
        from masklet.checkpoint import load_model
        from masklet.checkpoint.loading import PRECISIONS

        if self.dtype not in PRECISIONS:
            raise ValueError(f"unknown dtype {self.dtype!r}; use one of {', '.join(PRECISIONS)}")
        return load_model(self.source or BUNDLED_MODEL, device=self.device, dtype=self.dtype, progress=False)


@dataclass(frozen=True)
class AnnotateOptions:
    """match_iou: a keyframe detection continues a tracked object when their masks overlap at
    least this much (IoU); below it the detection starts a new object."""

    match_iou: float = 0.5


@dataclass(frozen=True)
class MineOptions:
    """How masklets are mined from a video with no input.

    keyframe_every: automatic mask generation on every N-th frame (from frame 0).
    points_per_side, pred_iou_thresh, stability_score_thresh: the mask generator's grid and
      filters on each keyframe.
    min_area, max_area: keep keyframe masks covering this fraction of the frame.
    new_object_iou: a keyframe mask overlapping an existing masklet's mask there this much
      (IoU) is that masklet, not a new one.
    dedup_iou: of two masklets whose IoU over all frames is at least this, the less stable one
      is dropped.
    min_mean_stability: masklets whose stability score averaged over their frames is below
      this are dropped.
    """

    keyframe_every: int = 10
    points_per_side: int = 16
    pred_iou_thresh: float = 0.8
    stability_score_thresh: float = 0.9
    min_area: float = 0.001
    max_area: float = 0.9
    new_object_iou: float = 0.5
    dedup_iou: float = 0.6
    min_mean_stability: float = 0.8

    def __post_init__(self) -> None:
        if self.keyframe_every < 1:
            raise ValueError(f"keyframe_every must be >= 1, got {self.keyframe_every}")
        if self.points_per_side < 1:
            raise ValueError(f"points_per_side must be >= 1, got {self.points_per_side}")
        if not 0 <= self.min_area <= self.max_area <= 1:
            raise ValueError(f"need 0 <= min_area <= max_area <= 1 (fractions of the frame), got {self.min_area}, {self.max_area}")
