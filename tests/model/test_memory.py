"""Memory encoder and memory attention: parity with the reference, and RoPE properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cases import FIXTURES
from conftest import seeded_model
from make_memory_fixtures import POINTER_TOKENS, memory_inputs

from masklet.model.rope import RoPEAttention, axial_rope_angles, rotate


@pytest.fixture(scope="module")
def model():
    return seeded_model("sam2.1-hiera-tiny")


@pytest.fixture(scope="module")
def inputs():
    return {k: torch.from_numpy(v) for k, v in memory_inputs().items()}


@torch.no_grad()
def test_memory_encoder_matches_reference(model, inputs):
    expected = np.load(FIXTURES.parent / "memory.npz")
    out = model.memory_encoder(inputs["pix_feat"], inputs["mask_logits"])
    np.testing.assert_allclose(out["vision_features"].numpy(), expected["memory_features"], atol=1e-4)
    np.testing.assert_allclose(out["vision_pos_enc"][0].numpy(), expected["memory_pos"], atol=1e-5)


@torch.no_grad()
def test_memory_attention_matches_reference(model, inputs):
    expected = np.load(FIXTURES.parent / "memory.npz")
    out = model.memory_attention(
        inputs["curr"], inputs["memory"], inputs["curr_pos"], inputs["memory_pos"],
        num_obj_ptr_tokens=POINTER_TOKENS,
    )
    np.testing.assert_allclose(out.numpy(), expected["attended"], atol=1e-4)


@torch.no_grad()
def test_objects_in_one_batch_equal_one_by_one(model, inputs):
    args = [inputs[k] for k in ("curr", "memory", "curr_pos", "memory_pos")]
    both = model.memory_attention(*args, num_obj_ptr_tokens=POINTER_TOKENS)
    for i in range(2):
        alone = model.memory_attention(*[a[i : i + 1] for a in args], num_obj_ptr_tokens=POINTER_TOKENS)
        torch.testing.assert_close(alone, both[i : i + 1], atol=1e-5, rtol=0)


def test_rotation_keeps_norms_and_depends_on_offsets_only():
    angles = axial_rope_angles(head_dim=16, width=4, height=4)
    cos, sin = angles.cos(), angles.sin()
    q = torch.randn(1, 16, 16).expand(1, 16, 16).clone()
    q[:] = q[0, 0]  # the same vector at every grid position
    k = q.clone()
    rq, rk = rotate(q, cos, sin), rotate(k, cos, sin)
    torch.testing.assert_close(rq.norm(dim=-1), q.norm(dim=-1))
    scores = rq[0] @ rk[0].T  # [16, 16]
    # positions (x, y) = (i % 4, i // 4): equal offsets give equal scores
    torch.testing.assert_close(scores[0, 5], scores[10, 15], atol=1e-5, rtol=0)  # offset (1, 1)
    torch.testing.assert_close(scores[1, 2], scores[13, 14], atol=1e-5, rtol=0)  # offset (1, 0)
    assert not torch.allclose(scores[0, 5], scores[0, 1])


def test_pointer_tokens_are_not_rotated():
    torch.manual_seed(0)
    attn = RoPEAttention(embedding_dim=32, num_heads=1, rope_k_repeat=True, kv_in_dim=8).eval()
    q = torch.randn(1, 16, 32)
    memory = torch.randn(1, 16 * 2 + 4, 8)
    base = attn(q, memory, memory, num_k_exclude_rope=4)
    # Moving the pointer tokens' order must not matter for them (no position), but moving
    # grid tokens does.
    shuffled = torch.cat([memory[:, :32], memory[:, 32:].flip(1)], dim=1)
    torch.testing.assert_close(attn(q, shuffled, shuffled, num_k_exclude_rope=4), base, atol=1e-5, rtol=0)
    swapped = torch.cat([memory[:, 1:2], memory[:, 0:1], memory[:, 2:]], dim=1)
    assert not torch.allclose(attn(q, swapped, swapped, num_k_exclude_rope=4), base, atol=1e-5)


def test_rope_rejects_partial_frames():
    attn = RoPEAttention(embedding_dim=32, num_heads=1, rope_k_repeat=True)
    with pytest.raises(ValueError, match="whole frames"):
        attn(torch.randn(1, 16, 32), torch.randn(1, 20, 32), torch.randn(1, 20, 32))


def test_rotation_in_place_and_allocating_agree_with_the_pair_formula():
    torch.manual_seed(0)
    angles = axial_rope_angles(head_dim=16, width=4, height=4)
    cos, sin = angles.cos(), angles.sin()
    x = torch.randn(2, 3, 16, 16)  # [B, frames, grid tokens, head_dim]
    real, imag = x[..., 0::2], x[..., 1::2]
    expected = torch.stack((real * cos - imag * sin, real * sin + imag * cos), dim=-1).flatten(-2)
    torch.testing.assert_close(rotate(x, cos, sin), expected, atol=1e-6, rtol=0)
    overwritten = x.clone()
    assert rotate(overwritten, cos, sin, in_place=True) is overwritten
    torch.testing.assert_close(overwritten, expected, atol=1e-6, rtol=0)
    half = rotate(x.bfloat16(), cos, sin)
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half.float(), expected, atol=0.05, rtol=0.02)


def test_attention_under_autograd_equals_inference_and_has_gradients():
    """Inference rotates keys and queries in place; training must not (autograd needs them)."""
    torch.manual_seed(0)
    attn = RoPEAttention(embedding_dim=32, num_heads=1, rope_k_repeat=True, kv_in_dim=8).eval()
    q = torch.randn(1, 16, 32)
    memory = torch.randn(1, 16 * 2 + 4, 8)
    with torch.no_grad():
        inferred = attn(q, memory, memory, num_k_exclude_rope=4)
    trained = attn(q.requires_grad_(), memory, memory, num_k_exclude_rope=4)
    torch.testing.assert_close(trained, inferred, atol=1e-6, rtol=0)
    trained.square().sum().backward()
    assert q.grad.abs().sum() > 0 and attn.k_proj.weight.grad.abs().sum() > 0


@torch.no_grad()
def test_one_frames_queries_serve_every_object(model, inputs):
    """`frame_queries` of one frame row, shared by two objects' memories, equals running the
    whole memory attention on that row repeated."""
    curr, curr_pos = inputs["curr"][:1], inputs["curr_pos"][:1]
    memory, memory_pos = inputs["memory"], inputs["memory_pos"]  # [2, M, mem_dim]
    attention = model.memory_attention
    shared = attention.attend_memory(attention.frame_queries(curr, curr_pos), memory, memory_pos,
                                     num_obj_ptr_tokens=POINTER_TOKENS)
    repeated = attention(curr.expand(2, -1, -1), memory, curr_pos.expand(2, -1, -1), memory_pos,
                         num_obj_ptr_tokens=POINTER_TOKENS)
    torch.testing.assert_close(shared, repeated, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="batch sizes differ"):
        attention.attend_memory(attention.frame_queries(curr, curr_pos).expand(3, -1, -1), memory, memory_pos)
