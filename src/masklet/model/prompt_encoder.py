"""Prompt encoder: points / box corners -> sparse tokens, a mask -> a dense embedding."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from masklet.model.common import LayerNorm2d
from masklet.model.position import PositionEmbeddingRandom

# Channels of the mask-prompt encoder's last hidden layer.
MASK_IN_CHANS = 16


class PromptEncoder(nn.Module):
    """Labels: -1 padding, 0 negative click, 1 positive click, 2 / 3 box top-left / bottom-right."""

    def __init__(
        self, *, embed_dim: int, image_embedding_size: tuple[int, int], input_image_size: tuple[int, int]
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.image_embedding_size = tuple(image_embedding_size)
        self.input_image_size = (int(input_image_size[0]), int(input_image_size[1]))
        self.mask_input_size = (4 * image_embedding_size[0], 4 * image_embedding_size[1])
        self.pe_layer = PositionEmbeddingRandom(num_pos_feats=embed_dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        # [B, 1, 4h, 4w] logits -> [B, C, h, w]
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, MASK_IN_CHANS // 4, kernel_size=2, stride=2),
            LayerNorm2d(num_channels=MASK_IN_CHANS // 4),
            nn.GELU(),
            nn.Conv2d(MASK_IN_CHANS // 4, MASK_IN_CHANS, kernel_size=2, stride=2),
            LayerNorm2d(num_channels=MASK_IN_CHANS),
            nn.GELU(),
            nn.Conv2d(MASK_IN_CHANS, embed_dim, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def get_dense_pe(self) -> torch.Tensor:
        """Position encoding of the image-embedding grid: [1, C, h, w]."""
        return self.pe_layer(self.image_embedding_size).unsqueeze(0)

    def _point_embedding(self, label: int) -> torch.Tensor:
        """[1, C] learned embedding of click label 0..3."""
        return cast(nn.Embedding, self.point_embeddings[label]).weight

    def embed_points(self, coords: torch.Tensor, labels: torch.Tensor, pad: bool) -> torch.Tensor:
        """coords [B, N, 2] (x, y) in input-image pixels, labels [B, N] -> [B, N (+1), C]."""
        coords = coords + 0.5  # pixel centres
        if pad:
            coords = torch.cat([coords, coords.new_zeros(coords.shape[0], 1, 2)], dim=1)
            labels = torch.cat([labels, labels.new_full((labels.shape[0], 1), -1)], dim=1)
        encoded = self.pe_layer.forward_with_coords(coords, self.input_image_size)
        table = torch.cat([self._point_embedding(label) for label in range(4)])  # [4, C]
        encoded = encoded + table[labels.clamp(min=0).long()]
        is_pad = (labels == -1).unsqueeze(-1)
        return torch.where(is_pad, self.not_a_point_embed.weight.expand_as(encoded), encoded)

    def embed_boxes(self, boxes: torch.Tensor) -> torch.Tensor:
        """boxes [B, 4] x1, y1, x2, y2 -> corner tokens [B, 2, C]."""
        corners = (boxes + 0.5).reshape(-1, 2, 2)
        encoded = self.pe_layer.forward_with_coords(corners, self.input_image_size)
        corner_table = torch.cat([self._point_embedding(2), self._point_embedding(3)])
        return encoded + corner_table

    def forward(
        self,
        points: tuple[torch.Tensor, torch.Tensor] | None,
        boxes: torch.Tensor | None,
        masks: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (sparse [B, N, C], dense [B, C, h, w]). Points are padded with a label -1
        token when no box is given."""
        if points is not None:
            batch = points[0].shape[0]
        elif boxes is not None:
            batch = boxes.shape[0]
        elif masks is not None:
            batch = masks.shape[0]
        else:
            batch = 1
        weight = self.no_mask_embed.weight
        tokens = [weight.new_empty(batch, 0, self.embed_dim)]
        if points is not None:
            tokens.append(self.embed_points(points[0], points[1], pad=boxes is None))
        if boxes is not None:
            tokens.append(self.embed_boxes(boxes))
        sparse = torch.cat(tokens, dim=1)
        if masks is not None:
            if tuple(masks.shape[-2:]) != self.mask_input_size:
                raise ValueError(
                    f"mask input of size {tuple(masks.shape[-2:])}; the prompt encoder takes "
                    f"[B, 1, {self.mask_input_size[0]}, {self.mask_input_size[1]}] low-res logits"
                )
            dense = self.mask_downscaling(masks)
        else:
            h, w = self.image_embedding_size
            dense = weight.reshape(1, -1, 1, 1).expand(batch, -1, h, w)
        return sparse, dense
