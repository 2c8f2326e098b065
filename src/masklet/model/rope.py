"""2-D axial rotary position encoding (RoPE) and the attention layer that uses it.

Channel pairs (2i, 2i+1) of each head are rotated by an angle that grows with the token's x
position (first half of the pairs) or y position (second half), so q.k depends on the
relative offset of the two tokens on the feature grid.
"""

from __future__ import annotations

import torch

from masklet.model.attention import Attention
from masklet.model.memory_pooling import pool_memory


def axial_rope_angles(head_dim: int, width: int, height: int, theta: float = 10000.0) -> torch.Tensor:
    """Rotation angles [height * width, head_dim / 2] for a row-major width x height grid."""
    quarter = head_dim // 4
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 4)[:quarter].float() / head_dim))
    index = torch.arange(width * height, dtype=torch.float32)
    xs = index % width
    ys = torch.div(index, width, rounding_mode="floor")
    return torch.cat([torch.outer(xs, freqs), torch.outer(ys, freqs)], dim=-1)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, in_place: bool = False) -> torch.Tensor:
    """Rotate channel pairs of x [..., N, D] by angles given as cos / sin [N, D / 2], in float32
    arithmetic. `in_place` (only where `rotates_in_place(x)`) overwrites x instead of allocating:
    memory attention rotates about 30,000 fresh key projections per object and layer."""
    if torch.onnx.is_in_onnx_export() or x.device.type == "mps":  # no complex numbers there
        pairs = x.float().unflatten(-1, (-1, 2))
        real, imag = pairs[..., 0], pairs[..., 1]
        rotated = torch.stack((real * cos - imag * sin, real * sin + imag * cos), dim=-1)
        return rotated.flatten(-2).type_as(x)
    # Each pair as one complex number times e^(i angle): one fused kernel, no temporaries.
    turns = torch.complex(cos, sin)
    if in_place:
        torch.view_as_complex(x.unflatten(-1, (-1, 2))).mul_(turns)
        return x
    return torch.view_as_real(torch.view_as_complex(x.float().unflatten(-1, (-1, 2))) * turns).flatten(-2).type_as(x)


def rotates_in_place(x: torch.Tensor) -> bool:
    """Whether `rotate` may overwrite x: float32 (complex views need it), no autograd, no export."""
    return (x.dtype == torch.float32 and not torch.is_grad_enabled() and not torch.onnx.is_in_onnx_export()
            and x.device.type != "mps")


class RoPEAttention(Attention):
    """Attention whose queries and keys are rotated by their grid position.

    Keys may hold several frames' worth of grid tokens (`rope_k_repeat`: the grid's angles
    repeat per frame) followed by `num_k_exclude_rope` tokens that are not rotated (object
    pointers)."""

    def __init__(
        self,
        *,
        embedding_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        kv_in_dim: int | None = None,
        rope_theta: float = 10000.0,
        rope_k_repeat: bool = False,
    ) -> None:
        super().__init__(embedding_dim=embedding_dim, num_heads=num_heads, dropout=dropout, kv_in_dim=kv_in_dim)
        self.rope_theta = rope_theta
        self.rope_k_repeat = rope_k_repeat
        # (cos, sin) angle tables per (grid side, device); the side comes from the query count
        self._tables: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def _cos_sin(self, num_tokens: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        num_tokens = int(num_tokens)  # a traced size when exported to ONNX: the grid is fixed there
        side = int(round(num_tokens**0.5))
        if side * side != num_tokens:
            raise ValueError(f"RoPE needs a square token grid, got {num_tokens} query tokens")
        key = (side, str(device))
        if key not in self._tables:
            angles = axial_rope_angles(self.internal_dim // self.num_heads, side, side, self.rope_theta)
            self._tables[key] = (angles.cos().to(device), angles.sin().to(device))
        return self._tables[key]

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, num_k_exclude_rope: int = 0,
        memory_pool: int = 1, num_pooled_tokens: int = 0,
    ) -> torch.Tensor:
        """q [B, Nq, C] on a square grid; k, v [B, Nk, kv_in_dim] -> [B, Nq, C]. With
        `memory_pool` p > 1 the last `num_pooled_tokens` rotated keys (whole frames, just before
        the excluded ones) and their values are averaged over p x p cells of each frame's grid
        (`masklet.model.memory_pooling`)."""
        q = self.split_heads(self.q_proj(q))  # [B, heads, Nq, c]
        k = self.split_heads(self.k_proj(k))
        v = self.split_heads(self.v_proj(v))
        num_q = q.shape[-2]
        cos, sin = self._cos_sin(num_q, q.device)
        q = rotate(q, cos, sin, in_place=rotates_in_place(q))

        num_rope = k.shape[-2] - num_k_exclude_rope
        if num_rope > 0:
            if num_rope != num_q and not self.rope_k_repeat:
                raise ValueError(f"{num_rope} rotated keys for {num_q} queries need rope_k_repeat=True")
            if num_rope % num_q:
                raise ValueError(f"{num_rope} rotated keys are not whole frames of {num_q} tokens")
            # [B, heads, frames, Nq, c]: every frame reuses the grid's angles
            frames = k[..., :num_rope, :].unflatten(-2, (num_rope // num_q, num_q))
            if rotates_in_place(k):
                rotate(frames, cos, sin, in_place=True)  # the pointers after them stay as they are
            else:
                rotated = rotate(frames, cos, sin).flatten(-3, -2)
                k = torch.cat([rotated, k[..., num_rope:, :]], dim=-2) if num_k_exclude_rope else rotated
        if memory_pool > 1 and num_pooled_tokens:
            side = int(round(num_q**0.5))
            pooled = slice(num_rope - num_pooled_tokens, num_rope)
            return self.attend(q, *pool_memory(k, v, pooled, side, memory_pool))
        return self.attend(q, k, v)
