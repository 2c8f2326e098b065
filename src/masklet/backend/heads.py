"""The rules between the network's steps, written once for every backend.

A backend's `TrackingModel.decode_prompts` proposes masks; what is made of them is decided
here: features for prompting without memory (`image_embeddings`), which mask an object keeps
and its object pointer (`choose_mask`), a mask prompt taken as the answer
(`prediction_from_mask`), the click that stands in for none on a tracked frame
(`propose_masks`), a mask's stability (`stability_score`), and the temporal position of object
pointers (`pointer_positions`).
"""

from __future__ import annotations

import numpy as np

from masklet.backend.arrays import Array
from masklet.backend.model import TrackingModel
from masklet.backend.outputs import (
    MASK_AS_OUTPUT_BIAS,
    MASK_AS_OUTPUT_SCALE,
    NO_OBJECT_LOGIT,
    FramePrediction,
    MaskProposals,
)

PADDING_LABEL = -1


def image_embeddings(model: TrackingModel, images: Array) -> tuple[Array, list]:
    """Features of normalised images [B, 3, S, S] for prompting without memory:
    (image_embed [B, C, h, w] with `no_mem_embed` added, high_res_feats
    [[B, C/8, 4h, 4w], [B, C/4, 2h, 2w]])."""
    fpn = model.forward_image(images)["backbone_fpn"]
    return fpn[2] + model.no_mem_embed.reshape(1, -1, 1, 1), list(fpn[:2])


def propose_masks(
    model: TrackingModel, pix_feat: Array, high_res_feats: list, point_coords: Array | None = None,
    point_labels: Array | None = None, mask_logits: Array | None = None, multimask_output: bool = False,
) -> MaskProposals:
    """Every mask the decoder proposes for B objects on memory-conditioned features
    pix_feat [B, C, h, w] (training supervises all of them, inference keeps one: `choose_mask`).

    Without clicks, one padding click stands in (as on every tracked frame). mask_logits
    [B, 1, *, *] is a dense prompt, resized to the decoder's mask input if needed."""
    ops = model.arrays
    batch = pix_feat.shape[0]
    if point_coords is None:
        point_coords = ops.compute(ops.full((batch, 1, 2), 0.0))
        point_labels = ops.asarray(np.full((batch, 1), PADDING_LABEL), integer=True)
    side = 4 * model.config.image_embedding_size
    if mask_logits is not None:
        mask_logits = ops.compute(ops.resize(mask_logits, (side, side), antialias=True))
    return model.decode_prompts(pix_feat, high_res_feats, point_coords, point_labels, mask_logits, multimask_output)


def choose_mask(model: TrackingModel, proposals: MaskProposals) -> FramePrediction:
    """Each object's mask with the best predicted IoU, upsampled to S x S, with its pointer.
    Objects judged absent (object score <= 0) get NO_OBJECT_LOGIT everywhere and the learned
    `no_obj_ptr`."""
    ops = model.arrays
    visible = proposals.object_score_logits > 0  # [B, 1]
    masks = ops.where(visible[:, :, None, None], proposals.masks, NO_OBJECT_LOGIT)  # [B, M, h, w]
    pointers = proposals.pointers  # [B, M or 1, C]
    if masks.shape[1] > 1:
        rows = ops.arange(masks.shape[0])
        best = proposals.ious.argmax(-1)  # [B]
        masks = masks[rows, best][:, None]
        pointers = pointers[rows, best] if pointers.shape[1] > 1 else pointers[:, 0]
    else:
        pointers = pointers[:, 0]
    high_res = ops.resize(masks, (model.image_size, model.image_size))
    return FramePrediction(masks, high_res, pointer_or_absent(model, pointers, visible), proposals.object_score_logits)


def prediction_from_mask(model: TrackingModel, pix_feat: Array, high_res_feats: list, masks: Array) -> FramePrediction:
    """Binary masks [B, 1, S, S] taken as the objects' masks (logits of +-10); the decoder runs
    on the features (without memory) only to make each object's pointer."""
    ops = model.arrays
    masks = ops.as_float(ops.asarray(masks))
    high_res = masks * MASK_AS_OUTPUT_SCALE + MASK_AS_OUTPUT_BIAS
    low_res = ops.resize(high_res, (high_res.shape[-2] // 4, high_res.shape[-1] // 4), antialias=True)
    mask_input = model.downsample_mask(ops.compute(masks))
    pointers = choose_mask(model, propose_masks(model, pix_feat, high_res_feats, mask_logits=mask_input)).obj_ptr
    visible = (masks.reshape(masks.shape[0], -1) > 0).any(1)[:, None]  # [B, 1]
    object_score_logits = ops.as_float(visible) * MASK_AS_OUTPUT_SCALE + MASK_AS_OUTPUT_BIAS
    return FramePrediction(low_res, high_res, pointer_or_absent(model, pointers, visible), object_score_logits)


def pointer_or_absent(model: TrackingModel, pointers: Array, visible: Array) -> Array:
    """pointers [B, C] where visible [B, 1], the learned `no_obj_ptr` elsewhere."""
    return model.arrays.where(visible, pointers, model.no_obj_ptr)


def stability_score(mask_logits: Array, threshold: float, offset: float) -> Array:
    """IoU between the masks thresholded at threshold + offset and threshold - offset,
    [..., H, W] -> float [...]; 1 where both are empty (as the reference's decoder scores them).
    Used by the decoder's dynamic multimask fallback, automatic mask generation and mining."""
    flat = mask_logits.reshape(*mask_logits.shape[:-2], mask_logits.shape[-2] * mask_logits.shape[-1])
    inner = (flat > threshold + offset).sum(-1) * 1.0
    outer = (flat > threshold - offset).sum(-1) * 1.0
    empty = outer == 0  # then inner is 0 too
    return (inner + empty) / (outer + empty)


def pointer_positions(model: TrackingModel, distances: Array, window: int) -> Array:
    """Temporal codes [P, mem_dim] of object pointers `distances` [P] frames away, among
    `window` pointers a frame may attend to. Distances are divided by window - 1, or by 1 where
    that is 0 (a one-frame video: the reference divides by 0 there, and its NaN blanks the
    mask of any correction on that frame)."""
    return model.pointer_temporal_code(model.arrays.as_float(distances) / max(window - 1, 1))
