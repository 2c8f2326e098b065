"""The image encoder as one graph: Hiera trunk + FPN neck, with the two high-resolution
levels already projected by the mask decoder's skip convolutions (what every later graph
takes), and the position encoding of the lowest-resolution level."""

from __future__ import annotations

import torch
from torch import nn

from masklet.model.sam2 import SAM2Model


class ImageEncoderGraph(nn.Module):
    """images [B, 3, S, S] (normalised) ->
    high_res_feats_0 [B, C/8, S/4, S/4], high_res_feats_1 [B, C/4, S/8, S/8],
    vision_feats [B, C, S/16, S/16] (no memory added), vision_pos [B, C, S/16, S/16]."""

    def __init__(self, model: SAM2Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model.forward_image(images)
        fpn, pos = out["backbone_fpn"], out["vision_pos_enc"]
        return fpn[0], fpn[1], fpn[-1], pos[-1]
