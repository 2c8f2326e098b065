"""Per-frame tracking results in the forms people consume them: logits, binary masks, RLE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from masklet.backend.arrays import Array, ArrayOps, to_numpy
from masklet.io.davis import winning_rows

# Logits that non-overlapping constraints push losing objects' pixels to (at most).
SUPPRESSED_LOGIT = -10.0


@dataclass
class FrameResult:
    """The tracked objects on one frame.

    logits: [N, H, W] float32 mask logits at video resolution, one row per id in `obj_ids`,
      as arrays of the model's backend: a torch.Tensor (as the reference's predictors return
      masks), a numpy array on the ONNX backend. `masks`, `by_object` and `rle` are numpy on
      every backend.
    object_score_logits: [N] the object-score head's logits; > 0 means visible, <= 0 means
      the model judges the object absent or occluded on this frame (its mask is then empty).
    """

    frame_idx: int
    obj_ids: list
    logits: Any
    object_score_logits: Any
    mask_threshold: float = 0.0

    @property
    def masks(self) -> np.ndarray:
        """[N, H, W] bool."""
        return to_numpy(self.logits > self.mask_threshold)

    @property
    def visible(self) -> np.ndarray:
        """[N] bool: the object is present on this frame."""
        return to_numpy(self.object_score_logits > 0)

    def rle(self) -> list[dict]:
        """COCO run-length encodings ({"size": [H, W], "counts": str}), one per object."""
        from masklet.io.rle import rle_encode

        return [rle_encode(m) for m in self.masks]

    def by_object(self, form: str = "mask") -> dict:
        """{obj_id: value} with value a bool mask, float logits or an RLE dict (`form` is
        "mask", "logits" or "rle")."""
        if form == "mask":
            values = list(self.masks)
        elif form == "logits":
            values = list(to_numpy(self.logits).astype(np.float32))
        elif form == "rle":
            values = self.rle()
        else:
            raise ValueError(f"unknown output form {form!r}; use 'mask', 'logits' or 'rle'")
        return dict(zip(self.obj_ids, values))


def non_overlapping(logits: Array, ops: ArrayOps) -> Array:
    """[N, 1, H, W]: where objects overlap, all but the winner of each pixel (the highest
    logit, the first row on ties: `masklet.io.davis.winning_rows`) are pushed to at most
    SUPPRESSED_LOGIT, so each pixel belongs to at most one object."""
    if logits.shape[0] <= 1:
        return logits
    winner = winning_rows(logits)[None] == ops.arange(logits.shape[0]).reshape(-1, 1, 1, 1)
    return ops.where(winner, logits, ops.minimum(logits, SUPPRESSED_LOGIT))
