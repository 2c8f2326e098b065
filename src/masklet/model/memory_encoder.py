"""Memory encoder: fuses a frame's features with its predicted mask into a memory of
`mem_dim` channels."""

from __future__ import annotations

import torch
from torch import nn

from masklet.model.common import LayerNorm2d
from masklet.model.position import PositionEmbeddingSine

# The mask is reduced to the feature grid (stride 16) by four stride-2 convolutions.
MASK_DOWNSAMPLING_LAYERS = 4
FUSER_LAYERS = 2


class MaskDownSampler(nn.Module):
    """[B, 1, S, S] mask -> [B, embed_dim, S/16, S/16]: 3x3 stride-2 convs, each multiplying
    the channels by 4 (LayerNorm2d + GELU after each), then a 1x1 projection."""

    def __init__(self, *, embed_dim: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential()
        channels = 1
        for _ in range(MASK_DOWNSAMPLING_LAYERS):
            out = channels * 4
            self.encoder.append(nn.Conv2d(channels, out, kernel_size=3, stride=2, padding=1))
            self.encoder.append(LayerNorm2d(num_channels=out))
            self.encoder.append(nn.GELU())
            channels = out
        self.encoder.append(nn.Conv2d(channels, embed_dim, kernel_size=1))

    def forward(self, masks: torch.Tensor) -> torch.Tensor:
        return self.encoder(masks)


class CXBlock(nn.Module):
    """ConvNeXt block: depthwise 7x7 conv, LayerNorm, MLP (x4) with layer scale, residual."""

    layer_scale_init = 1e-6

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = LayerNorm2d(num_channels=dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(self.layer_scale_init * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W]
        y = self.norm(self.dwconv(x)).permute(0, 2, 3, 1)
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(y)))
        return x + y.permute(0, 3, 1, 2)


class Fuser(nn.Module):
    """ConvNeXt blocks over the sum of projected features and downsampled mask."""

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(CXBlock(dim=dim) for _ in range(FUSER_LAYERS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MemoryEncoder(nn.Module):
    def __init__(self, *, in_dim: int, out_dim: int) -> None:
        super().__init__()
        # Random initialisation draws for the mask path and the fuser before the projections.
        mask_downsampler, fuser = MaskDownSampler(embed_dim=in_dim), Fuser(dim=in_dim)
        self.mask_downsampler = mask_downsampler
        self.pix_feat_proj = nn.Conv2d(in_dim, in_dim, kernel_size=1)
        self.fuser = fuser
        self.position_encoding = PositionEmbeddingSine(num_pos_feats=out_dim)
        self.out_proj = nn.Conv2d(in_dim, out_dim, kernel_size=1) if out_dim != in_dim else nn.Identity()

    def forward(self, pix_feat: torch.Tensor, masks: torch.Tensor, skip_mask_sigmoid: bool = False) -> dict:
        """pix_feat [B, in_dim, h, w], masks [B, 1, 16h, 16w] (logits unless skip_mask_sigmoid)
        -> {"vision_features": [B, out_dim, h, w], "vision_pos_enc": [[B, out_dim, h, w]]}."""
        if not skip_mask_sigmoid:
            masks = torch.sigmoid(masks)
        x = self.pix_feat_proj(pix_feat.to(masks.device)) + self.mask_downsampler(masks)
        x = self.out_proj(self.fuser(x))
        return {"vision_features": x, "vision_pos_enc": [self.position_encoding(x).to(x.dtype)]}
