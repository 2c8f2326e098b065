"""Pooled memory (`masklet.model.memory_pooling`): where the p x p cells of the memory grid are
uniform, the pooled attention with its log(p^2) logit correction is the exact attention."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from masklet.model.memory_pooling import pool_cells, pool_memory
from masklet.model.rope import RoPEAttention, axial_rope_angles, rotate

SIDE, POOL, FRAMES, POINTERS, DIM = 4, 2, 2, 3, 8
GRID = SIDE * SIDE


def uniform_cells(frames: int, channels: int, generator) -> torch.Tensor:
    """[1, 1, frames * SIDE^2, channels]: row-major grids whose 2x2 cells each hold one random token."""
    cells = torch.randn(frames, SIDE // POOL, 1, SIDE // POOL, 1, channels, generator=generator, dtype=torch.float64)
    grid = cells.expand(-1, -1, POOL, -1, POOL, -1)
    return grid.reshape(1, 1, frames * GRID, channels)


def test_pool_cells_averages_each_cell_of_each_frame():
    tokens = torch.arange(2 * GRID, dtype=torch.float64).reshape(1, 2 * GRID, 1)  # two 4x4 grids
    pooled = pool_cells(tokens, SIDE, POOL)[0, :, 0]
    # first cell of frame 0: tokens 0, 1, 4, 5; last cell of frame 1: 16 + 10, 11, 14, 15
    assert pooled.tolist() == [2.5, 4.5, 10.5, 12.5, 18.5, 20.5, 26.5, 28.5]
    with pytest.raises(ValueError, match="3 must divide 4"):
        pool_cells(tokens, SIDE, 3)


@pytest.mark.parametrize("first_pooled_frame", [0, 1])
def test_uniform_cells_attend_exactly_with_the_log_correction(first_pooled_frame):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, 1, GRID, DIM, generator=g, dtype=torch.float64)
    keys = torch.cat([uniform_cells(FRAMES, DIM, g), torch.randn(1, 1, POINTERS, DIM, generator=g, dtype=torch.float64)], -2)
    values = torch.randn(1, 1, FRAMES * GRID + POINTERS, DIM, generator=g, dtype=torch.float64)  # not uniform
    pooled = slice(first_pooled_frame * GRID, FRAMES * GRID)
    k, v, bias = pool_memory(keys, values, pooled, SIDE, POOL)
    assert k.shape[-2] == first_pooled_frame * GRID + (FRAMES - first_pooled_frame) * GRID // 4 + POINTERS
    exact = F.scaled_dot_product_attention(q, keys, values)
    torch.testing.assert_close(F.scaled_dot_product_attention(q, k, v, attn_mask=bias), exact, rtol=0, atol=1e-12)
    # without the correction each pooled cell gets a quarter of its weight
    assert not torch.allclose(F.scaled_dot_product_attention(q, k, v), exact, atol=1e-3)


def test_rope_attention_pools_after_rotating_the_keys():
    """Keys whose rotated forms are equal within each cell: pooling them after the rotation is
    exact, whatever the values; pooling before it could not be (the raw keys differ)."""
    g = torch.Generator().manual_seed(1)
    attention = RoPEAttention(embedding_dim=DIM, num_heads=1, kv_in_dim=DIM, rope_k_repeat=True).double().eval()
    with torch.no_grad():
        attention.k_proj.weight.copy_(torch.eye(DIM))
        attention.k_proj.bias.zero_()
    angles = axial_rope_angles(DIM, SIDE, SIDE)
    rotated = uniform_cells(FRAMES, DIM, g)[0, 0].reshape(FRAMES, GRID, DIM)
    raw_keys = rotate(rotated, angles.cos(), -angles.sin()).reshape(1, FRAMES * GRID, DIM)  # undo the rotation
    keys = torch.cat([raw_keys, torch.randn(1, POINTERS, DIM, generator=g, dtype=torch.float64)], 1)
    values = torch.randn(1, FRAMES * GRID + POINTERS, DIM, generator=g, dtype=torch.float64)
    q = torch.randn(1, GRID, DIM, generator=g, dtype=torch.float64)
    with torch.no_grad():
        exact = attention(q, keys, values, num_k_exclude_rope=POINTERS)
        pooled = attention(q, keys, values, num_k_exclude_rope=POINTERS, memory_pool=POOL, num_pooled_tokens=GRID)
        no_tokens_pooled = attention(q, keys, values, num_k_exclude_rope=POINTERS, memory_pool=POOL)
    # `rotate` computes in float32
    torch.testing.assert_close(pooled, exact, rtol=0, atol=1e-5)
    assert torch.equal(no_tokens_pooled, exact)
