"""Memory attention: conditions the current frame's features on the memory bank
(past frames' memories and object pointers) with RoPE self- and cross-attention."""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from masklet.model.rope import RoPEAttention

# Every attention of the memory layers has one head; dropout applies to the attention
# weights and to each residual branch during training.
NUM_HEADS = 1
DROPOUT = 0.1
# The current frame's position encoding is added to its tokens, scaled, before the first layer.
INPUT_POSITION_SCALE = 0.1


class MemoryAttentionLayer(nn.Module):
    """Pre-norm: self-attention, cross-attention to memory, ReLU FFN; each with a residual.
    Position enters through RoPE and, for the memory's keys only, through the added
    memory position encoding."""

    def __init__(self, *, d_model: int, mem_dim: int, ffn_dim: int, rope_theta: float) -> None:
        super().__init__()
        # Random initialisation draws for the cross-attention first.
        cross_attn = RoPEAttention(
            embedding_dim=d_model, num_heads=NUM_HEADS, dropout=DROPOUT, rope_theta=rope_theta,
            kv_in_dim=mem_dim, rope_k_repeat=True,
        )
        self.self_attn = RoPEAttention(
            embedding_dim=d_model, num_heads=NUM_HEADS, dropout=DROPOUT, rope_theta=rope_theta,
        )
        self.cross_attn_image = cross_attn
        self.linear1 = nn.Linear(d_model, ffn_dim)
        self.linear2 = nn.Linear(ffn_dim, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(DROPOUT)

    def attend_self(self, tgt: torch.Tensor) -> torch.Tensor:
        """tgt [B, N, C] after its self-attention residual."""
        x = self.norm1(tgt)
        return tgt + self.dropout(self.self_attn(x, x, x))

    def attend_memory(
        self, tgt: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor, num_k_exclude_rope: int,
        memory_pool: int = 1, num_pooled_tokens: int = 0,
    ) -> torch.Tensor:
        """tgt [B, N, C] after the cross-attention to memory (values `memory`, keys `keys` =
        memory + its position code, [B, M, mem_dim]) and the FFN."""
        x = self.norm2(tgt)
        tgt = tgt + self.dropout(self.cross_attn_image(
            x, keys, memory, num_k_exclude_rope=num_k_exclude_rope, memory_pool=memory_pool,
            num_pooled_tokens=num_pooled_tokens,
        ))
        x = self.norm3(tgt)
        return tgt + self.dropout(self.linear2(self.dropout(F.relu(self.linear1(x)))))


class MemoryAttention(nn.Module):
    """Memory attention in two steps: `frame_queries` is the part that depends on the frame
    alone (its tokens and the first layer's self-attention), computed once per frame and
    shared by all its objects; `attend_memory` is the rest, per object."""

    def __init__(self, *, d_model: int, mem_dim: int, num_layers: int, ffn_dim: int, rope_theta: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            MemoryAttentionLayer(d_model=d_model, mem_dim=mem_dim, ffn_dim=ffn_dim, rope_theta=rope_theta)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    @property
    def typed_layers(self) -> list[MemoryAttentionLayer]:
        return cast(list[MemoryAttentionLayer], list(self.layers))

    def frame_queries(self, curr: torch.Tensor, curr_pos: torch.Tensor) -> torch.Tensor:
        """curr / curr_pos [B, HW, C] -> the first layer's tokens after its self-attention [B, HW, C]."""
        return self.typed_layers[0].attend_self(curr + INPUT_POSITION_SCALE * curr_pos)

    def attend_memory(
        self,
        queries: torch.Tensor,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        num_obj_ptr_tokens: int = 0,
        memory_pool: int = 1,
        num_pooled_tokens: int = 0,
    ) -> torch.Tensor:
        """`frame_queries` [1 or B, HW, C] (one row serves every object) conditioned on memory /
        memory_pos [B, M, mem_dim] -> [B, HW, C]; see `forward`."""
        if queries.shape[0] not in (1, memory.shape[0]):
            raise ValueError(f"batch sizes differ: {queries.shape[0]} current vs {memory.shape[0]} memory")
        x = queries.expand(memory.shape[0], -1, -1)
        keys = memory + memory_pos
        for i, layer in enumerate(self.typed_layers):
            if i:
                x = layer.attend_self(x)
            x = layer.attend_memory(
                x, keys, memory, num_k_exclude_rope=num_obj_ptr_tokens, memory_pool=memory_pool,
                num_pooled_tokens=num_pooled_tokens,
            )
        return self.norm(x)

    def forward(
        self,
        curr: torch.Tensor,
        memory: torch.Tensor,
        curr_pos: torch.Tensor,
        memory_pos: torch.Tensor,
        num_obj_ptr_tokens: int = 0,
        memory_pool: int = 1,
        num_pooled_tokens: int = 0,
    ) -> torch.Tensor:
        """Batch-first: curr / curr_pos [B, HW, C]; memory / memory_pos [B, M, mem_dim] whose
        last `num_obj_ptr_tokens` tokens are object pointers (not rotated). -> [B, HW, C].
        `memory_pool` p > 1: the cross-attention reads the last `num_pooled_tokens` spatial
        memory tokens (whole frames, just before the pointers) averaged over p x p cells
        (`masklet.model.memory_pooling`); 1 is the exact attention."""
        if curr.shape[0] != memory.shape[0]:
            raise ValueError(f"batch sizes differ: {curr.shape[0]} current vs {memory.shape[0]} memory")
        return self.attend_memory(
            self.frame_queries(curr, curr_pos), memory, memory_pos, num_obj_ptr_tokens=num_obj_ptr_tokens,
            memory_pool=memory_pool, num_pooled_tokens=num_pooled_tokens,
        )
