"""Position encodings: 2-D sine maps, random Fourier features and 1-D sine codes.

The 2-D rotary encoding used by memory attention lives in `rope.py`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# Wavelengths of the sine encodings grow geometrically up to 2 pi x this.
SINE_TEMPERATURE = 10000


def _sine_frequencies(num_feats: int, device) -> torch.Tensor:
    """Divisors SINE_TEMPERATURE^(2*floor(i/2)/num_feats) for i in [0, num_feats)."""
    i = torch.arange(num_feats, dtype=torch.float32, device=device)
    return SINE_TEMPERATURE ** (2 * torch.div(i, 2, rounding_mode="floor") / num_feats)


def _interleave_sin_cos(angles: torch.Tensor) -> torch.Tensor:
    """[..., F] angles -> [..., F]: sin of even slots and cos of odd slots, interleaved."""
    return torch.stack((angles[..., 0::2].sin(), angles[..., 1::2].cos()), dim=-1).flatten(-2)


class PositionEmbeddingSine(nn.Module):
    """DETR-style 2-D sine encoding of a feature map's pixel grid, with positions normalised
    to (0, 2 pi].

    `num_pos_feats` is the total channel count: half encode y, half encode x.
    Maps are cached per (H, W) since they depend on nothing but the size.
    """

    def __init__(self, *, num_pos_feats: int) -> None:
        super().__init__()
        if num_pos_feats % 2:
            raise ValueError(f"num_pos_feats must be even, got {num_pos_feats}")
        self.num_pos_feats = num_pos_feats // 2
        self._cache: dict[tuple, torch.Tensor] = {}

    @torch.no_grad()
    def encode_grid(self, height: int, width: int, device) -> torch.Tensor:
        """[C, H, W] encoding of a height x width grid."""
        key = (height, width, str(device))
        if key not in self._cache:
            y = torch.arange(1, height + 1, dtype=torch.float32, device=device)
            x = torch.arange(1, width + 1, dtype=torch.float32, device=device)
            eps = 1e-6
            y = y / (y[-1] + eps) * (2 * math.pi)
            x = x / (x[-1] + eps) * (2 * math.pi)
            freqs = _sine_frequencies(self.num_pos_feats, device)
            pos_y = _interleave_sin_cos(y[:, None] / freqs)  # [H, F]
            pos_x = _interleave_sin_cos(x[:, None] / freqs)  # [W, F]
            grid = torch.cat(
                (
                    pos_y[:, None, :].expand(height, width, -1),
                    pos_x[None, :, :].expand(height, width, -1),
                ),
                dim=-1,
            )
            self._cache[key] = grid.permute(2, 0, 1).contiguous()
        return self._cache[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encoding for the grid of `x` ([B, *, H, W]) -> [B, C, H, W] float32."""
        pe = self.encode_grid(x.shape[-2], x.shape[-1], x.device)
        return pe[None].expand(x.shape[0], -1, -1, -1)


class PositionEmbeddingRandom(nn.Module):
    """Random Fourier features of normalised (x, y) coordinates (the prompt encoder's PE)."""

    positional_encoding_gaussian_matrix: torch.Tensor  # [2, num_pos_feats], a buffer

    def __init__(self, *, num_pos_feats: int) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn((2, num_pos_feats)))

    def _encode(self, coords: torch.Tensor) -> torch.Tensor:
        """[..., 2] coordinates in [0, 1] -> [..., 2 * num_pos_feats]."""
        matrix = self.positional_encoding_gaussian_matrix
        proj = (2 * coords.to(matrix.dtype) - 1) @ matrix
        proj = 2 * math.pi * proj
        return torch.cat([proj.sin(), proj.cos()], dim=-1)

    def forward(self, size: tuple[int, int]) -> torch.Tensor:
        """Dense encoding of an H x W grid of pixel centres -> [C, H, W]."""
        h, w = size
        device = self.positional_encoding_gaussian_matrix.device
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
        grid = torch.stack(
            (xs[None, :].expand(h, w), ys[:, None].expand(h, w)), dim=-1
        )  # [H, W, 2] as (x, y)
        return self._encode(grid).permute(2, 0, 1)

    def forward_with_coords(
        self, coords: torch.Tensor, image_size: tuple[int, int]
    ) -> torch.Tensor:
        """Encode pixel coordinates [B, N, 2] (x, y) of an image of size (H, W) -> [B, N, C]."""
        h, w = image_size
        size = torch.tensor([w, h], dtype=torch.float32, device=coords.device)
        return self._encode(coords.float() / size)


def sine_encoding_1d(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer-style 1-D sine code of positions [...] -> [..., dim] (sines then cosines)."""
    freqs = _sine_frequencies(dim // 2, positions.device)
    angles = positions.unsqueeze(-1) / freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)
