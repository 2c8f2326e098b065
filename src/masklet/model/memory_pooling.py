"""Pooled memory: the memory cross-attention over spatial memories averaged in p x p cells.

Each frame's grid of memory keys and values is averaged over p x p cells, so a query attends
to p^2 times fewer spatial keys (object pointers stay as they are). Two rules keep it close to
the exact attention:

  - Keys are pooled after their projection and RoPE rotation. The queries are rotated too,
    and q.k is linear in k, so a pooled key's logit is exactly the mean of its cell's p^2
    logits, each taken at its own grid position. (Pooling before the rotation and rotating at
    the cell centre would not: the mean of the p^2 rotations is the centre's rotation scaled
    by cos(offset * frequency) on each channel pair, so the centre's logit misses that factor,
    off by up to 12% on the highest-frequency pairs for 2x2 cells.) Values are pooled after
    their projection, which is affine, so that is the same as pooling the memories.
  - Every pooled key gets log(p^2) added to its logit: it stands for p^2 keys, so a cell
    whose p^2 logits are equal receives exactly the attention weight the p^2 keys had, and
    its value, their mean, contributes exactly what they contributed. Where the logits in a
    cell differ, the cell gets exp(mean logit) * p^2 <= the sum of its weights (Jensen): the
    approximation favours cells of uniform memory.
"""

from __future__ import annotations

import itertools
import math

import torch


def pool_cells(tokens: torch.Tensor, side: int, pool: int) -> torch.Tensor:
    """Frames of row-major side x side grid tokens [..., F * side^2, c] averaged over pool x pool
    cells -> [..., F * (side / pool)^2, c]."""
    if side % pool:
        raise ValueError(f"a {side}x{side} memory grid cannot be pooled in {pool}x{pool} cells: {pool} must divide {side}")
    *lead, num_tokens, channels = tokens.shape
    cells = side // pool
    grid = tokens.reshape(*lead, num_tokens // (side * side), cells, pool, cells, pool, channels)
    # The p^2 strided slices summed one by one: about 9x faster on the CPU than `mean` over the
    # two strided dims, and never more than one pooled-size temporary.
    total = grid[..., :, 0, :, 0, :].clone()
    for row, col in itertools.product(range(pool), range(pool)):
        if row or col:
            total += grid[..., :, row, :, col, :]
    return (total / (pool * pool)).reshape(*lead, -1, channels)


def pool_memory(
    k: torch.Tensor, v: torch.Tensor, pooled: slice, side: int, pool: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keys and values [B, heads, Nk, c] whose tokens `pooled` are frames of side x side grid
    tokens (keys already rotated) -> (keys, values) with those frames pooled in place, and the
    logit bias [1, Nk'] of each key: log(pool^2) for pooled keys, 0 for the others."""
    start, stop = pooled.start, pooled.stop
    pooled_k = pool_cells(k[..., start:stop, :], side, pool)
    pooled_v = pool_cells(v[..., start:stop, :], side, pool)
    bias = torch.zeros(start + pooled_k.shape[-2] + k.shape[-2] - stop, dtype=k.dtype, device=k.device)
    bias[start : start + pooled_k.shape[-2]] = math.log(pool * pool)
    keys = torch.cat([k[..., :start, :], pooled_k, k[..., stop:, :]], dim=-2)
    values = torch.cat([v[..., :start, :], pooled_v, v[..., stop:, :]], dim=-2)
    return keys, values, bias[None]
