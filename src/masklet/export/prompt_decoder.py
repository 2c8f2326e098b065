"""Prompt encoder + mask decoder as graphs, with both output modes and the object pointer of
each mask: `PromptDecoderGraph` for prompts with clicks or box corners, `MaskDecoderGraph` for a
mask prompt alone (no point tokens at all, as the image predictor runs a mask-only prompt).

Prompts are points in model pixels: clicks (labels 0 negative, 1 positive), box corners
(labels 2 top-left, 3 bottom-right) and padding (label -1); a box is two corner points. One
more padding point is appended inside the graph, as the torch path does when no box is passed
separately. The dense prompt is `mask_input` where `has_mask_input` is 1, the learned
no-mask embedding where it is 0.

Outputs of both (masks are logits before the occlusion gate, as `decode_prompts` gives them):
  multi_masks [B, 3, 4h, 4w], multi_ious [B, 3], multi_pointers [B, 3, C]
  single_masks [B, 1, 4h, 4w], single_ious [B, 1], single_pointers [B, 1, C]
  object_score_logits [B, 1]
`masklet.backend.heads.choose_mask` picks the mask and pointer, as for every backend.
"""

from __future__ import annotations

import torch
from torch import nn

from masklet.model.sam2 import SAM2Model


def decode_both_modes(model: SAM2Model, image_embed, high_res_feats, points, mask_input, has_mask_input):
    """Every output of one decoder pass in both modes (see the module docstring)."""
    prompts, decoder = model.sam_prompt_encoder, model.sam_mask_decoder
    sparse, dense_from_mask = prompts(points=points, boxes=None, masks=mask_input)
    _, dense_default = prompts(points=points, boxes=None, masks=None)
    dense = torch.where(has_mask_input.reshape(1, 1, 1, 1) > 0, dense_from_mask, dense_default)
    masks, ious, tokens, scores = decoder.predict_masks(
        image_embed, prompts.get_dense_pe(), sparse, dense, False, high_res_feats
    )  # all four: [B, 4, 4h, 4w], [B, 4], [B, 4, C], [B, 1]
    if decoder.dynamic_multimask_via_stability:
        single_masks, single_ious = decoder.fall_back_to_stable_multimask(masks, ious)
    else:
        single_masks, single_ious = masks[:, :1], ious[:, :1]
    pointers = model.obj_ptr_proj(tokens)  # [B, 4, C]
    return masks[:, 1:], ious[:, 1:], pointers[:, 1:], single_masks, single_ious, pointers[:, :1], scores


class PromptDecoderGraph(nn.Module):
    """Inputs:
      image_embed [B, C, h, w]: memory-conditioned features (or vision_feats + no_mem_embed)
      high_res_feats_0 [1 or B, C/8, 4h, 4w], high_res_feats_1 [1 or B, C/4, 2h, 2w]
      point_coords [B, N, 2] float (x, y) in model pixels, point_labels [B, N] int64
      mask_input [B, 1, 4h, 4w] low-res logits, has_mask_input [1] float (0 or 1)"""

    def __init__(self, model: SAM2Model) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, image_embed, high_res_feats_0, high_res_feats_1, point_coords, point_labels, mask_input, has_mask_input
    ) -> tuple[torch.Tensor, ...]:
        return decode_both_modes(
            self.model, image_embed, [high_res_feats_0, high_res_feats_1], (point_coords, point_labels), mask_input,
            has_mask_input,
        )


class MaskDecoderGraph(nn.Module):
    """`PromptDecoderGraph` without points: inputs image_embed, high_res_feats_0/1, mask_input,
    has_mask_input."""

    def __init__(self, model: SAM2Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, image_embed, high_res_feats_0, high_res_feats_1, mask_input, has_mask_input) -> tuple[torch.Tensor, ...]:
        return decode_both_modes(
            self.model, image_embed, [high_res_feats_0, high_res_feats_1], None, mask_input, has_mask_input
        )


class MaskPromptGraph(nn.Module):
    """masks [B, 1, S, S] binary (0 / 1 float) -> [B, 1, S/4, S/4]: the learned reduction of a
    mask prompt taken as output (`masklet.backend.heads.prediction_from_mask`) to the decoder's
    mask input."""

    def __init__(self, model: SAM2Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, masks: torch.Tensor) -> torch.Tensor:
        return self.model.downsample_mask(masks)
