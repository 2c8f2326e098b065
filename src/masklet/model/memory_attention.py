"""Memory attention: conditions the current frame's features on the memory bank
(past frames' memories and object pointers) with RoPE self- and cross-attention."""

from __future__ import annotations

import torch
from torch import nn

from masklet.config import SAM2Config
from masklet.model.common import activation_fn
from masklet.model.rope import RoPEAttention


class MemoryAttentionLayer(nn.Module):
    """Pre-norm: self-attention, cross-attention to memory, FFN; each with a residual."""

    def __init__(
        self,
        activation: str,
        cross_attention: RoPEAttention,
        d_model: int,
        dim_feedforward: int,
        dropout: float,
        pos_enc_at_attn: bool,
        pos_enc_at_cross_attn_keys: bool,
        pos_enc_at_cross_attn_queries: bool,
        self_attention: RoPEAttention,
    ) -> None:
        super().__init__()
        self.self_attn = self_attention
        self.cross_attn_image = cross_attention
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation_fn(activation)
        self.pos_enc_at_attn = pos_enc_at_attn
        self.pos_enc_at_cross_attn_keys = pos_enc_at_cross_attn_keys
        self.pos_enc_at_cross_attn_queries = pos_enc_at_cross_attn_queries

    def forward(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        pos: torch.Tensor | None = None,
        query_pos: torch.Tensor | None = None,
        num_k_exclude_rope: int = 0,
    ) -> torch.Tensor:
        """tgt [B, N, C] current tokens, memory [B, M, mem_dim] -> [B, N, C]."""
        x = self.norm1(tgt)
        q = x + query_pos if self.pos_enc_at_attn else x
        tgt = tgt + self.dropout(self.self_attn(q, q, x))

        x = self.norm2(tgt)
        q = x + query_pos if self.pos_enc_at_cross_attn_queries else x
        k = memory + pos if self.pos_enc_at_cross_attn_keys else memory
        tgt = tgt + self.dropout(self.cross_attn_image(q, k, memory, num_k_exclude_rope=num_k_exclude_rope))

        x = self.norm3(tgt)
        return tgt + self.dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class MemoryAttention(nn.Module):
    def __init__(self, d_model: int, pos_enc_at_input: bool, layers: list[MemoryAttentionLayer]) -> None:
        super().__init__()
        self.d_model = d_model
        self.pos_enc_at_input = pos_enc_at_input
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self,
        curr: torch.Tensor,
        memory: torch.Tensor,
        curr_pos: torch.Tensor | None = None,
        memory_pos: torch.Tensor | None = None,
        num_obj_ptr_tokens: int = 0,
    ) -> torch.Tensor:
        """Batch-first: curr / curr_pos [B, HW, C]; memory / memory_pos [B, M, mem_dim] whose
        last `num_obj_ptr_tokens` tokens are object pointers (not rotated). -> [B, HW, C]."""
        if curr.shape[0] != memory.shape[0]:
            raise ValueError(f"batch sizes differ: {curr.shape[0]} current vs {memory.shape[0]} memory")
        x = curr
        if self.pos_enc_at_input and curr_pos is not None:
            x = x + 0.1 * curr_pos
        for layer in self.layers:
            x = layer(x, memory, pos=memory_pos, query_pos=curr_pos, num_k_exclude_rope=num_obj_ptr_tokens)
        return self.norm(x)


def build_memory_attention(cfg: SAM2Config) -> MemoryAttention:
    grid = cfg.image_size // cfg.backbone_stride

    def rope(**extra) -> RoPEAttention:
        return RoPEAttention(
            cfg.d_model, num_heads=1, downsample_rate=1, dropout=0.1,
            rope_theta=cfg.rope_theta, feat_sizes=(grid, grid), **extra,
        )

    layers = [
        MemoryAttentionLayer(
            activation="relu",
            cross_attention=rope(rope_k_repeat=True, kv_in_dim=cfg.mem_dim),
            d_model=cfg.d_model,
            dim_feedforward=cfg.memory_attention_ffn_dim,
            dropout=0.1,
            pos_enc_at_attn=False,
            pos_enc_at_cross_attn_keys=True,
            pos_enc_at_cross_attn_queries=False,
            self_attention=rope(),
        )
        for _ in range(cfg.memory_attention_layers)
    ]
    return MemoryAttention(cfg.d_model, pos_enc_at_input=True, layers=layers)
