"""What the model's per-frame steps return, and the logit constants of those outputs. Free of
torch so that the tracking glue, which also runs on the ONNX backend's numpy arrays, can use
them where torch is not installed: the fields hold torch tensors or numpy arrays."""

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
    tokens: Any  # [B, M or 1, C] output tokens the object pointer is made from (None where the
    # pointer is already made, as the ONNX decoder graph does)
    object_score_logits: Any  # [B, 1]; > 0 means the object is visible
