"""The two-way transformer of the mask decoder: prompt tokens and image tokens attend to
each other (tokens -> image and image -> tokens) in every block."""

from __future__ import annotations

import torch
from torch import nn

from masklet.model.attention import Attention
from masklet.model.common import MLP

DEPTH = 2
NUM_HEADS = 8
# Cross-attention between tokens and image works at half the embedding width.
CROSS_ATTENTION_DOWNSAMPLE_RATE = 2


def cross_attention(embedding_dim: int) -> Attention:
    return Attention(
        embedding_dim=embedding_dim, num_heads=NUM_HEADS, downsample_rate=CROSS_ATTENTION_DOWNSAMPLE_RATE
    )


class TwoWayAttentionBlock(nn.Module):
    """Token self-attention, tokens->image cross-attention, token MLP, image->tokens
    cross-attention; post-norm after each. The first block's self-attention sees no PE and
    has no residual (the tokens are their own PE at that point)."""

    def __init__(self, *, embedding_dim: int, mlp_dim: int, skip_first_layer_pe: bool) -> None:
        super().__init__()
        self.self_attn = Attention(embedding_dim=embedding_dim, num_heads=NUM_HEADS)
        self.norm1 = nn.LayerNorm(embedding_dim)
        self.cross_attn_token_to_image = cross_attention(embedding_dim)
        self.norm2 = nn.LayerNorm(embedding_dim)
        self.mlp = MLP(input_dim=embedding_dim, hidden_dim=mlp_dim, output_dim=embedding_dim, num_layers=2)
        self.norm3 = nn.LayerNorm(embedding_dim)
        self.norm4 = nn.LayerNorm(embedding_dim)
        self.cross_attn_image_to_token = cross_attention(embedding_dim)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(
        self, queries: torch.Tensor, keys: torch.Tensor, query_pe: torch.Tensor, key_pe: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """queries [B, Nq, C] (tokens), keys [B, HW, C] (image) and their PEs."""
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)

        keys_with_pe = keys + key_pe
        q = queries + query_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, keys_with_pe, keys))
        queries = self.norm3(queries + self.mlp(queries))

        q = queries + query_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(keys_with_pe, q, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    def __init__(self, *, embedding_dim: int, mlp_dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(embedding_dim=embedding_dim, mlp_dim=mlp_dim, skip_first_layer_pe=(i == 0))
            for i in range(DEPTH)
        )
        self.final_attn_token_to_image = cross_attention(embedding_dim)
        self.norm_final_attn = nn.LayerNorm(embedding_dim)

    def forward(
        self, image_embedding: torch.Tensor, image_pe: torch.Tensor, point_embedding: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """image_embedding / image_pe [B, C, h, w], point_embedding [B, N, C]
        -> (tokens [B, N, C], image tokens [B, h*w, C])."""
        keys = image_embedding.flatten(2).transpose(1, 2)
        key_pe = image_pe.flatten(2).transpose(1, 2)
        queries = point_embedding
        for layer in self.layers:
            queries, keys = layer(queries, keys, point_embedding, key_pe)
        q = queries + point_embedding
        queries = queries + self.final_attn_token_to_image(q, keys + key_pe, keys)
        return self.norm_final_attn(queries), keys
