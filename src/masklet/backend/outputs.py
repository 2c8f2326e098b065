"""What a backend's decoder and the shared head rules (`masklet.backend.heads`) return, and the
logit constants of those outputs. The fields hold arrays of the backend's kind (torch tensors,
numpy arrays)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Logit given to every pixel of an object judged absent (occluded) on a frame.
NO_OBJECT_LOGIT = -1024.0
# Mask prompts used directly as output become logits of +-10 (sigmoid ~ 1 - 4.5e-5).
MASK_AS_OUTPUT_SCALE, MASK_AS_OUTPUT_BIAS = 20.0, -10.0


@dataclass
class FramePrediction:
    """B objects' chosen masks on one frame, with their pointers and object scores."""

    low_res_masks: Any  # [B, 1, S/4, S/4] float32 logits of the chosen mask
    high_res_masks: Any  # [B, 1, S, S] float32, the same upsampled
    obj_ptr: Any  # [B, C] object pointer
    object_score_logits: Any  # [B, 1]; > 0 means the object is visible


@dataclass
class MaskProposals:
    """All masks the decoder proposed for B objects (before choosing one)."""

    masks: Any  # [B, M, S/4, S/4] float32 logits, M = 3 (multimask) or 1, before the
    # occlusion gate (choose_mask applies it)
    ious: Any  # [B, M] predicted IoU of each mask
    pointers: Any  # [B, M or 1, C] object pointer of each mask (one shared by all masks when
    # the config makes pointers from the single-mask token), before the absent-object rule
    object_score_logits: Any  # [B, 1]; > 0 means the object is visible
