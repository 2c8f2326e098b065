"""Hiera: the hierarchical ViT trunk of SAM 2's image encoder.

Four stages at strides 4, 8, 16, 32. Blocks attend within square windows except the few
listed in `global_att_blocks`; the first block of stages 2..4 pools its queries 2x (and
projects the shortcut), halving the resolution and widening the channels.
Tokens are kept as [B, H, W, C] maps throughout.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from masklet.model.common import MLP, DropPath


def pad_to_windows(x: torch.Tensor, window: int) -> torch.Tensor:
    """Zero-pad [B, H, W, C] at the bottom/right so H and W are multiples of `window`."""
    h, w = x.shape[1:3]
    pad_h, pad_w = -h % window, -w % window
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    return x


def to_windows(x: torch.Tensor, window: int) -> torch.Tensor:
    """[B, Hp, Wp, C] (multiples of window) -> [B * nWindows, window, window, C]."""
    b, hp, wp, c = x.shape
    x = x.view(b, hp // window, window, wp // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, c)


def from_windows(windows: torch.Tensor, window: int, padded_hw: tuple[int, int], hw: tuple[int, int]) -> torch.Tensor:
    """Inverse of to_windows, then crop the padding: -> [B, H, W, C]."""
    hp, wp = padded_hw
    c = windows.shape[-1]
    b = windows.shape[0] // ((hp // window) * (wp // window))
    x = windows.view(b, hp // window, wp // window, window, window, c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)
    h, w = hw
    return x[:, :h, :w] if (hp, wp) != (h, w) else x


def max_pool_hw(x: torch.Tensor, stride: tuple[int, int]) -> torch.Tensor:
    """2-D max-pool of a [B, H, W, C] map (kernel = stride)."""
    x = F.max_pool2d(x.permute(0, 3, 1, 2), kernel_size=stride, stride=stride)
    return x.permute(0, 2, 3, 1)


class MultiScaleAttention(nn.Module):
    """Self-attention over a [B, H, W, C] map whose queries may be max-pooled."""

    def __init__(self, *, dim: int, dim_out: int, num_heads: int, q_stride: tuple[int, int] | None) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q_stride = q_stride
        self.qkv = nn.Linear(dim, dim_out * 3)
        self.proj = nn.Linear(dim_out, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        # [B, H*W, 3, heads, c] -> three [B, heads, H*W, c]
        q, k, v = self.qkv(x).view(b, h * w, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        if self.q_stride is not None:
            c = q.shape[-1]
            q = q.transpose(1, 2).reshape(b, h, w, self.num_heads * c)
            q = max_pool_hw(q, self.q_stride)
            h, w = q.shape[1:3]
            q = q.reshape(b, h * w, self.num_heads, c).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)  # [B, heads, h*w, c]
        out = out.transpose(1, 2).reshape(b, h, w, -1)
        return self.proj(out)


class MultiScaleBlock(nn.Module):
    """Pre-norm transformer block with windowed (window_size > 0) or global attention."""

    def __init__(
        self,
        *,
        dim: int,
        dim_out: int,
        num_heads: int,
        mlp_ratio: float,
        q_stride: tuple[int, int] | None,
        window_size: int,
    ) -> None:
        super().__init__()
        self.dim, self.dim_out = dim, dim_out
        self.window_size = window_size
        self.q_stride = q_stride
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiScaleAttention(dim=dim, dim_out=dim_out, num_heads=num_heads, q_stride=q_stride)
        self.drop_path = DropPath(drop_prob=0.0)  # the rate is set by Hiera.set_drop_path
        self.norm2 = nn.LayerNorm(dim_out, eps=1e-6)
        self.mlp = MLP(
            input_dim=dim_out, hidden_dim=int(dim_out * mlp_ratio), output_dim=dim_out, num_layers=2,
            activation=nn.GELU,
        )
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, H, W, C] -> [B, H', W', C']
        shortcut = x
        x = self.norm1(x)
        if self.dim != self.dim_out:
            shortcut = self.proj(x)
            if self.q_stride is not None:
                shortcut = max_pool_hw(shortcut, self.q_stride)

        window = self.window_size
        if window > 0:
            x = to_windows(pad_to_windows(x, window), window)
        x = self.attn(x)
        if window > 0:
            if self.q_stride is not None:
                window //= self.q_stride[0]
            h, w = shortcut.shape[1:3]
            padded = (h + (-h % window), w + (-w % window))
            x = from_windows(x, window, padded, (h, w))

        x = shortcut + self.drop_path(x)
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    """7x7 stride-4 convolution: image [B, 3, H, W] -> tokens [B, H/4, W/4, C]."""

    def __init__(self, *, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=7, stride=4, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class Hiera(nn.Module):
    """The trunk; its arguments are the fields of `masklet.config.HieraConfig`."""

    def __init__(
        self,
        *,
        embed_dim: int,
        num_heads: int,
        stages: tuple[int, ...],
        global_att_blocks: tuple[int, ...],
        window_spec: tuple[int, ...],
        window_pos_embed_bkg_spatial_size: tuple[int, int],
        q_pool: int,
        q_stride: tuple[int, int],
        dim_mul: float,
        head_mul: float,
        mlp_ratio: float,
        drop_path_rate: float,
    ) -> None:
        super().__init__()
        depth = sum(stages)
        # index of the last block of each stage
        self.stage_ends = [sum(stages[: i + 1]) - 1 for i in range(len(stages))]
        q_pool_blocks = [end + 1 for end in self.stage_ends[:-1]][:q_pool]

        self.patch_embed = PatchEmbed(embed_dim=embed_dim)
        # A coarse background table, interpolated to the feature size, plus a per-window one.
        self.pos_embed = nn.Parameter(torch.zeros(1, embed_dim, *window_pos_embed_bkg_spatial_size))
        self.pos_embed_window = nn.Parameter(torch.zeros(1, embed_dim, window_spec[0], window_spec[0]))

        dim, heads, stage = embed_dim, num_heads, 0
        blocks = []
        for i in range(depth):
            # The first block of a stage still uses the previous stage's window size.
            window = 0 if i in global_att_blocks else window_spec[stage]
            dim_out = dim
            if i - 1 in self.stage_ends:
                dim_out = int(dim * dim_mul)
                heads = int(heads * head_mul)
                stage += 1
            blocks.append(
                MultiScaleBlock(
                    dim=dim, dim_out=dim_out, num_heads=heads, mlp_ratio=mlp_ratio,
                    q_stride=(q_stride[0], q_stride[1]) if i in q_pool_blocks else None,
                    window_size=window,
                )
            )
            dim = dim_out
        self.blocks = nn.ModuleList(blocks)
        self.set_drop_path(drop_path_rate)
        # Recompute each block in the backward pass (see SAM2Model.set_activation_checkpointing).
        self.activation_checkpointing = False
        self.channel_list = [self._blocks()[i].dim_out for i in self.stage_ends[::-1]]
        self._position_cache: tuple[tuple, torch.Tensor] | None = None  # (key, table) at inference
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.pos_embed_window, std=0.02)

    def _blocks(self) -> list[MultiScaleBlock]:
        return [cast(MultiScaleBlock, block) for block in self.blocks]

    def set_drop_path(self, rate: float) -> None:
        """Stochastic depth rising linearly from 0 on the first block to `rate` on the last."""
        last = max(len(self.blocks) - 1, 1)
        for i, block in enumerate(self._blocks()):
            block.drop_path.drop_prob = rate * i / last

    def position_embedding(self, h: int, w: int) -> torch.Tensor:
        """[1, h, w, C]: bicubic background table + window table tiled over the map.

        Without gradients the last table is reused while the size and both parameters are
        unchanged (same storage, no in-place update since): the bicubic resize costs as much
        as a few encoder layers' element-wise work."""
        if torch.is_grad_enabled():
            return self._compute_position_embedding(h, w)
        key: tuple = (*((p.data_ptr(), p._version, p.dtype, p.device) for p in (self.pos_embed, self.pos_embed_window)), h, w)
        if self._position_cache is None or self._position_cache[0] != key:
            self._position_cache = (key, self._compute_position_embedding(h, w))
        return self._position_cache[1]

    def _compute_position_embedding(self, h: int, w: int) -> torch.Tensor:
        background = F.interpolate(self.pos_embed, size=(h, w), mode="bicubic")
        win = self.pos_embed_window
        tiled = win.tile(1, 1, h // win.shape[-2], w // win.shape[-1])
        return (background + tiled).permute(0, 2, 3, 1)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """[B, 3, H, W] -> per-stage maps [B, C_i, H / 4 / 2^i, W / 4 / 2^i], finest first."""
        x = self.patch_embed(images)
        x = x + self.position_embedding(*x.shape[1:3])
        outputs = []
        for i, block in enumerate(self.blocks):
            if self.activation_checkpointing and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
            if i in self.stage_ends:
                outputs.append(x.permute(0, 3, 1, 2))
        return outputs
