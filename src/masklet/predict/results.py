"""Per-frame tracking results in the forms people consume them: logits, binary masks, RLE."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# Logits that non-overlapping constraints push losing objects' pixels to (at most).
SUPPRESSED_LOGIT = -10.0


@dataclass
class FrameResult:
    """The tracked objects on one frame.

    logits: [N, H, W] float32 mask logits at video resolution, one row per id in `obj_ids`.
    object_score_logits: [N] the object-score head's logits; > 0 means visible, <= 0 means
      the model judges the object absent or occluded on this frame (its mask is then empty).
    """

    frame_idx: int
    obj_ids: list
    logits: torch.Tensor
    object_score_logits: torch.Tensor
    mask_threshold: float = 0.0

    @property
    def masks(self) -> np.ndarray:
        """[N, H, W] bool."""
        return (self.logits > self.mask_threshold).cpu().numpy()

    @property
    def visible(self) -> np.ndarray:
        """[N] bool: the object is present on this frame."""
        return (self.object_score_logits > 0).cpu().numpy()

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
            values = list(self.logits.float().cpu().numpy())
        elif form == "rle":
            values = self.rle()
        else:
            raise ValueError(f"unknown output form {form!r}; use 'mask', 'logits' or 'rle'")
        return dict(zip(self.obj_ids, values))


def resize_logits(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[N, 1, h, w] logits -> [N, 1, H, W] float32 (bilinear)."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits.float(), size, mode="bilinear", align_corners=False)


def non_overlapping(logits: torch.Tensor) -> torch.Tensor:
    """[N, 1, H, W]: where objects overlap, all but the highest-scoring one are pushed to at
    most SUPPRESSED_LOGIT, so each pixel belongs to at most one object."""
    if logits.shape[0] <= 1:
        return logits
    winner = logits.argmax(dim=0, keepdim=True)
    rows = torch.arange(logits.shape[0], device=logits.device).view(-1, 1, 1, 1)
    return torch.where(winner == rows, logits, logits.clamp(max=SUPPRESSED_LOGIT))
