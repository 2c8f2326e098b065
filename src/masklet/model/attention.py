"""Multi-head attention with separate q/k/v projections (the decoder's and memory's base)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """Attention whose inner width can be `embedding_dim // downsample_rate`.

    Keys and values may come from a space of another width (`kv_in_dim`), as in memory
    cross-attention where memories are 64-d and queries 256-d.
    """

    def __init__(
        self,
        *,
        embedding_dim: int,
        num_heads: int,
        downsample_rate: int = 1,
        dropout: float = 0.0,
        kv_in_dim: int | None = None,
    ) -> None:
        super().__init__()
        kv_in_dim = embedding_dim if kv_in_dim is None else kv_in_dim
        self.internal_dim = embedding_dim // downsample_rate
        self.num_heads = num_heads
        if self.internal_dim % num_heads:
            raise ValueError(f"{num_heads} heads do not divide width {self.internal_dim}")
        self.q_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.k_proj = nn.Linear(kv_in_dim, self.internal_dim)
        self.v_proj = nn.Linear(kv_in_dim, self.internal_dim)
        self.out_proj = nn.Linear(self.internal_dim, embedding_dim)
        self.dropout_p = dropout

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """[B, N, C] -> [B, heads, N, C / heads]."""
        b, n, c = x.shape
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    @staticmethod
    def merge_heads(x: torch.Tensor) -> torch.Tensor:
        """[B, heads, N, c] -> [B, N, heads * c]."""
        b, h, n, c = x.shape
        return x.transpose(1, 2).reshape(b, n, h * c)

    def attend(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, logit_bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Scaled dot-product attention over already split heads, then the output projection.
        `logit_bias` [1, Nk] is added to every query's logit of each key."""
        dropout_p = self.dropout_p if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=logit_bias, dropout_p=dropout_p)
        return self.out_proj(self.merge_heads(out))

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """q [B, Nq, C], k and v [B, Nk, kv_in_dim] -> [B, Nq, C]."""
        q = self.split_heads(self.q_proj(q))
        k = self.split_heads(self.k_proj(k))
        v = self.split_heads(self.v_proj(v))
        return self.attend(q, k, v)
