"""Image encoder = trunk + FPN neck (with sine position encodings per level).

The trunk is Hiera (SAM 2's) or EfficientNet-Lite0 (`masklet-lite`), chosen by the config's
type. Either returns four maps at strides 4, 8, 16 and 32, finest first, whose channels are the
trunk config's `stage_dims`; the neck reads nothing else of it."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from masklet.config import HieraConfig, TrunkConfig
from masklet.model.efficientnet import EfficientNetLite0
from masklet.model.hiera import Hiera
from masklet.model.position import PositionEmbeddingSine


class FpnNeck(nn.Module):
    """Projects every trunk level to `d_model` channels (1x1 convs) and adds the upsampled
    coarser level into the levels listed in `fpn_top_down_levels` (0 = finest)."""

    def __init__(
        self,
        *,
        d_model: int,
        backbone_channel_list: list[int],
        fpn_top_down_levels: tuple[int, ...],
        fpn_interp_model: str,
    ) -> None:
        super().__init__()
        self.position_encoding = PositionEmbeddingSine(num_pos_feats=d_model)
        # convs[0] projects the coarsest level (channel lists run coarsest first).
        self.convs = nn.ModuleList(
            nn.Sequential() for _ in backbone_channel_list
        )
        for seq, channels in zip(self.convs, backbone_channel_list):
            seq.add_module("conv", nn.Conv2d(channels, d_model, kernel_size=1))
        self.fpn_top_down_levels = set(fpn_top_down_levels)
        self.fpn_interp_model = fpn_interp_model

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
            else:
                coarser = lateral
            features[i] = coarser
        positions = [self.position_encoding(f).to(f.dtype) for f in features]
        return features, positions


def build_trunk(config: TrunkConfig) -> Hiera | EfficientNetLite0:
    """The trunk module of a trunk config; its keyword arguments are the config's fields."""
    trunk_type = Hiera if isinstance(config, HieraConfig) else EfficientNetLite0
    return trunk_type(**dataclasses.asdict(config))


class ImageEncoder(nn.Module):
    def __init__(
        self,
        *,
        trunk: TrunkConfig,
        d_model: int,
        fpn_top_down_levels: tuple[int, ...],
        fpn_interp_model: str,
        scalp: int,
    ) -> None:
        super().__init__()
        self.trunk = build_trunk(trunk)
        self.neck = FpnNeck(
            d_model=d_model,
            backbone_channel_list=list(reversed(trunk.stage_dims)),
            fpn_top_down_levels=fpn_top_down_levels,
            fpn_interp_model=fpn_interp_model,
        )
        self.scalp = scalp

    def forward(self, images: torch.Tensor) -> dict:
        """[B, 3, S, S] -> {"backbone_fpn": maps finest first (coarsest `scalp` dropped),
        "vision_pos_enc": their position encodings, "vision_features": the coarsest kept}."""
        features, positions = self.neck(self.trunk(images))
        if self.scalp > 0:
            features, positions = features[: -self.scalp], positions[: -self.scalp]
        return {"vision_features": features[-1], "vision_pos_enc": positions, "backbone_fpn": features}
