"""Image encoder = Hiera trunk + FPN neck (with sine position encodings per level)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from masklet.config import SAM2Config
from masklet.model.hiera import Hiera
from masklet.model.position import PositionEmbeddingSine


class FpnNeck(nn.Module):
    """Projects every trunk level to `d_model` channels (1x1 convs) and adds the upsampled
    coarser level into the levels listed in `fpn_top_down_levels` (0 = finest)."""

    def __init__(
        self,
        d_model: int,
        backbone_channel_list: list[int],
        fpn_top_down_levels: tuple[int, ...] = (2, 3),
        fpn_interp_model: str = "nearest",
        fuse_type: str = "sum",
    ) -> None:
        super().__init__()
        if fuse_type not in ("sum", "avg"):
            raise ValueError(f"fuse_type must be 'sum' or 'avg', got {fuse_type!r}")
        self.d_model = d_model
        self.backbone_channel_list = list(backbone_channel_list)
        self.position_encoding = PositionEmbeddingSine(d_model)
        # convs[0] projects the coarsest level (channel lists run coarsest first).
        self.convs = nn.ModuleList(
            nn.Sequential() for _ in backbone_channel_list
        )
        for seq, channels in zip(self.convs, backbone_channel_list):
            seq.add_module("conv", nn.Conv2d(channels, d_model, kernel_size=1))
        self.fpn_top_down_levels = set(fpn_top_down_levels)
        self.fpn_interp_model = fpn_interp_model
        self.fuse_type = fuse_type

    def forward(self, levels: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Trunk maps (finest first) -> (features, position encodings), finest first."""
        n = len(levels)
        features: list[torch.Tensor] = [None] * n  # type: ignore[list-item]
        coarser = None
        for i in reversed(range(n)):
            lateral = self.convs[n - 1 - i](levels[i])
            if i in self.fpn_top_down_levels and coarser is not None:
                align = None if self.fpn_interp_model == "nearest" else False
                top_down = F.interpolate(
                    coarser.float(), scale_factor=2.0, mode=self.fpn_interp_model, align_corners=align
                )
                coarser = lateral + top_down.to(lateral.dtype)
                if self.fuse_type == "avg":
                    coarser = coarser / 2
            else:
                coarser = lateral
            features[i] = coarser
        positions = [self.position_encoding(f).to(f.dtype) for f in features]
        return features, positions


class ImageEncoder(nn.Module):
    def __init__(self, trunk: Hiera, neck: FpnNeck, scalp: int = 1) -> None:
        super().__init__()
        if list(trunk.channel_list) != list(neck.backbone_channel_list):
            raise ValueError(
                f"trunk channels {trunk.channel_list} do not match neck channels {neck.backbone_channel_list}"
            )
        self.trunk = trunk
        self.neck = neck
        self.scalp = scalp

    def forward(self, images: torch.Tensor) -> dict:
        """[B, 3, S, S] -> {"backbone_fpn": maps finest first (coarsest `scalp` dropped),
        "vision_pos_enc": their position encodings, "vision_features": the coarsest kept}."""
        features, positions = self.neck(self.trunk(images))
        if self.scalp > 0:
            features, positions = features[: -self.scalp], positions[: -self.scalp]
        return {"vision_features": features[-1], "vision_pos_enc": positions, "backbone_fpn": features}


def build_image_encoder(cfg: SAM2Config) -> ImageEncoder:
    trunk = Hiera(cfg.trunk)
    neck = FpnNeck(cfg.d_model, list(cfg.backbone_channel_list), cfg.fpn_top_down_levels, cfg.fpn_interp_model)
    return ImageEncoder(trunk, neck, cfg.scalp)
