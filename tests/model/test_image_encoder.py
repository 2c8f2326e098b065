"""Image encoder shapes at several image sizes and the window helpers."""

from __future__ import annotations

import pytest
import torch

import masklet
from masklet.backend.heads import image_embeddings
from masklet.model.hiera import from_windows, pad_to_windows, to_windows


@pytest.mark.parametrize("size", [256, 512])
def test_feature_pyramid_shapes_at_other_image_sizes(size):
    cfg = masklet.SAM2Config(name=f"tiny-{size}", trunk=masklet.get_config("tiny").trunk, image_size=size)
    model = masklet.build_model(cfg)
    with torch.no_grad():
        out = model.forward_image(torch.randn(1, 3, size, size))
    s = size // 4
    assert [tuple(f.shape) for f in out["backbone_fpn"]] == [(1, 32, s, s), (1, 64, s // 2, s // 2), (1, 256, s // 4, s // 4)]
    assert [tuple(p.shape[-2:]) for p in out["vision_pos_enc"]] == [(s, s), (s // 2, s // 2), (s // 4, s // 4)]
    with torch.no_grad():
        embed, high_res = image_embeddings(model, torch.randn(2, 3, size, size))
    assert embed.shape == (2, 256, s // 4, s // 4) and len(high_res) == 2


def test_trunk_stage_outputs():
    trunk = masklet.build_model("tiny").image_encoder.trunk
    with torch.no_grad():
        outs = trunk(torch.randn(1, 3, 256, 256))
    assert [tuple(o.shape) for o in outs] == [(1, 96, 64, 64), (1, 192, 32, 32), (1, 384, 16, 16), (1, 768, 8, 8)]
    assert trunk.channel_list == [768, 384, 192, 96]


@pytest.mark.parametrize("h, w, window", [(14, 14, 7), (10, 13, 4), (16, 16, 14)])
def test_window_round_trip_with_padding(h, w, window):
    x = torch.randn(2, h, w, 5)
    padded = pad_to_windows(x, window)
    windows = to_windows(padded, window)
    assert windows.shape[1:3] == (window, window)
    assert windows.shape[0] == 2 * (padded.shape[1] // window) * (padded.shape[2] // window)
    torch.testing.assert_close(from_windows(windows, window, padded.shape[1:3], (h, w)), x)


def test_windows_hold_contiguous_patches():
    x = torch.arange(16.0).view(1, 4, 4, 1)
    windows = to_windows(x, 2)
    assert windows[1, :, :, 0].tolist() == [[2.0, 3.0], [6.0, 7.0]]


def test_position_table_is_reused_at_inference_and_refreshed_on_change():
    trunk = masklet.build_model(masklet.get_config("sam2.1-hiera-tiny")).image_encoder.trunk
    with torch.no_grad():
        first = trunk.position_embedding(16, 16)
        assert trunk.position_embedding(16, 16) is first
        assert torch.equal(first, trunk._compute_position_embedding(16, 16))
        assert trunk.position_embedding(32, 32).shape == (1, 32, 32, trunk.pos_embed.shape[1])
        trunk.pos_embed.add_(1.0)  # an in-place update (load_state_dict, an optimiser step) is seen
        assert torch.allclose(trunk.position_embedding(16, 16), first + 1.0, atol=1e-5)
    trunk.to(torch.float64)
    with torch.no_grad():
        assert trunk.position_embedding(16, 16).dtype == torch.float64
    table = trunk.position_embedding(16, 16)  # with gradients: computed afresh, so they reach the parameters
    table.sum().backward()
    assert trunk.pos_embed.grad is not None and trunk.pos_embed_window.grad.abs().sum() > 0
