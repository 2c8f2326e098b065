"""The video-memory graphs: memory encoder, memory attention, pointer position codes.

Memory attention takes the memory bank as tokens, the layout `TrackingEngine` builds:
spatial memories of F frames flattened to F * hw tokens (each frame's tokens carry the memory
position code plus its temporal slot code) and P object-pointer tokens (each C-wide pointer
split into C / mem_dim tokens sharing its temporal code). F >= 1 and P >= 0 vary per call.
RoPE rotates the queries and the spatial keys with real cos / sin tables (no complex numbers).
"""

from __future__ import annotations

import torch
from torch import nn

from masklet.model.rope import RoPEAttention, axial_rope_angles
from masklet.model.sam2 import SAM2Model


class MemoryEncoderGraph(nn.Module):
    """vision_feats [1 or B, C, h, w] (raw, without memory), masks [B, 1, S, S] high-res
    logits, object_score_logits [B, 1], binarize [1] bool -> memory [B, mem_dim, h, w].

    Masks enter as sigmoid(logits), or as hard 0 / 1 where `binarize` (prompted frames),
    exactly as `SAM2Model.encode_memory`."""

    def __init__(self, model: SAM2Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, vision_feats, masks, object_score_logits, binarize) -> torch.Tensor:
        model, cfg = self.model, self.model.config
        masks = torch.where(binarize.reshape(1, 1, 1, 1), (masks > 0).to(masks.dtype), torch.sigmoid(masks))
        masks = masks * cfg.sigmoid_scale_for_mem_enc + cfg.sigmoid_bias_for_mem_enc
        features = model.memory_encoder(vision_feats, masks, skip_mask_sigmoid=True)["vision_features"]
        if model.no_obj_embed_spatial is not None:
            absent = (object_score_logits <= 0).to(features.dtype)  # [B, 1]
            features = features + absent[:, :, None, None] * model.no_obj_embed_spatial[:, :, None, None]
        return features


class MemoryAttentionGraph(nn.Module):
    """curr, curr_pos [B, hw, C]; memory, memory_pos [B, F * hw, mem_dim];
    obj_ptrs, obj_ptrs_pos [B, P, mem_dim] -> conditioned features [B, hw, C].

    The RoPE cos / sin tables [hw, head_dim / 2] are buffers of this module, shared by every
    attention: traced as constants they would be copied into the graph at each use (128 MB of
    copies at 1024 px)."""

    def __init__(self, model: SAM2Model) -> None:
        super().__init__()
        self.model = model
        grid = model.config.image_embedding_size
        for attention in (a for a in model.memory_attention.modules() if isinstance(a, RoPEAttention)):
            head_dim = attention.internal_dim // attention.num_heads
            name = f"rope_{head_dim}_{attention.rope_theta:g}".replace(".", "_")
            if not hasattr(self, f"{name}_cos"):
                angles = axial_rope_angles(head_dim, grid, grid, attention.rope_theta)
                self.register_buffer(f"{name}_cos", angles.cos())
                self.register_buffer(f"{name}_sin", angles.sin())
            # the attention's own cache, keyed as RoPEAttention keys it, now holds the buffers
            attention._tables[(grid, str(torch.device("cpu")))] = (getattr(self, f"{name}_cos"), getattr(self, f"{name}_sin"))

    def forward(self, curr, curr_pos, memory, memory_pos, obj_ptrs, obj_ptrs_pos) -> torch.Tensor:
        tokens = torch.cat([memory, obj_ptrs], dim=1)  # [B, F * hw + P, mem_dim]
        positions = torch.cat([memory_pos, obj_ptrs_pos], dim=1)
        return self.model.memory_attention(
            curr=curr, memory=tokens, curr_pos=curr_pos, memory_pos=positions, num_obj_ptr_tokens=obj_ptrs.shape[1]
        )


class PointerPositionGraph(nn.Module):
    """positions [P] float: signed frame distances already normalised (`heads.pointer_positions`)
    -> temporal codes [P, mem_dim] (zeros when the config adds none)."""

    def __init__(self, model: SAM2Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        # "+ 0 * positions" keeps the input in the graph where the config adds no temporal code.
        return self.model.pointer_temporal_code(positions) + positions[:, None] * 0
