"""Memory encoder: fuses a frame's features with its predicted mask into a 64-d memory."""

from __future__ import annotations

import math

import torch
from torch import nn

from masklet.config import SAM2Config
from masklet.model.common import DropPath, LayerNorm2d
from masklet.model.position import PositionEmbeddingSine


class MaskDownSampler(nn.Module):
    """[B, 1, S, S] mask -> [B, embed_dim, S/16, S/16]: strided convs, each multiplying the
    channels by stride^2 (LayerNorm2d + GELU after each), then a 1x1 projection."""

    def __init__(
        self, embed_dim: int = 256, kernel_size: int = 3, stride: int = 2, padding: int = 1, total_stride: int = 16
    ) -> None:
        super().__init__()
        num_layers = round(math.log(total_stride, stride))
        if stride**num_layers != total_stride:
            raise ValueError(f"total_stride {total_stride} is not a power of stride {stride}")
        self.encoder = nn.Sequential()
        channels = 1
        for _ in range(num_layers):
            out = channels * stride**2
            self.encoder.append(nn.Conv2d(channels, out, kernel_size, stride, padding))
            self.encoder.append(LayerNorm2d(out))
            self.encoder.append(nn.GELU())
            channels = out
        self.encoder.append(nn.Conv2d(channels, embed_dim, kernel_size=1))

    def forward(self, masks: torch.Tensor) -> torch.Tensor:
        return self.encoder(masks)


class CXBlock(nn.Module):
    """ConvNeXt block: depthwise 7x7 conv, LayerNorm, MLP (x4) with layer scale, residual."""

    def __init__(
        self, dim: int, kernel_size: int = 7, padding: int = 3, drop_path: float = 0.0,
        layer_scale_init_value: float = 1e-6, use_dwconv: bool = True,
    ) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size, padding=padding, groups=dim if use_dwconv else 1)
        self.norm = LayerNorm2d(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(dim)) if layer_scale_init_value > 0 else None
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, H, W]
        y = self.norm(self.dwconv(x)).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(y)))
        if self.gamma is not None:
            y = self.gamma * y
        return x + self.drop_path(y.permute(0, 3, 1, 2))


class Fuser(nn.Module):
    def __init__(self, dim: int, num_layers: int = 2) -> None:
        super().__init__()
        self.proj = nn.Identity()
        self.layers = nn.ModuleList(CXBlock(dim) for _ in range(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        for layer in self.layers:
            x = layer(x)
        return x


class MemoryEncoder(nn.Module):
    def __init__(
        self, out_dim: int, mask_downsampler: MaskDownSampler, fuser: Fuser,
        position_encoding: PositionEmbeddingSine, in_dim: int = 256,
    ) -> None:
        super().__init__()
        self.mask_downsampler = mask_downsampler
        self.pix_feat_proj = nn.Conv2d(in_dim, in_dim, kernel_size=1)
        self.fuser = fuser
        self.position_encoding = position_encoding
        self.out_proj = nn.Conv2d(in_dim, out_dim, kernel_size=1) if out_dim != in_dim else nn.Identity()

    def forward(self, pix_feat: torch.Tensor, masks: torch.Tensor, skip_mask_sigmoid: bool = False) -> dict:
        """pix_feat [B, C, h, w], masks [B, 1, 16h, 16w] (logits unless skip_mask_sigmoid)
        -> {"vision_features": [B, out_dim, h, w], "vision_pos_enc": [[B, out_dim, h, w]]}."""
        if not skip_mask_sigmoid:
            masks = torch.sigmoid(masks)
        x = self.pix_feat_proj(pix_feat.to(masks.device)) + self.mask_downsampler(masks)
        x = self.out_proj(self.fuser(x))
        return {"vision_features": x, "vision_pos_enc": [self.position_encoding(x).to(x.dtype)]}


def build_memory_encoder(cfg: SAM2Config) -> MemoryEncoder:
    d = cfg.d_model
    return MemoryEncoder(
        out_dim=cfg.mem_dim,
        mask_downsampler=MaskDownSampler(embed_dim=d, total_stride=cfg.backbone_stride),
        fuser=Fuser(d, num_layers=2),
        position_encoding=PositionEmbeddingSine(cfg.mem_dim),
        in_dim=d,
    )
