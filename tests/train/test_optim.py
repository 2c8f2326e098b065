"""Optimiser groups, the schedule, and the trainer's memory/precision switches."""

import math

import pytest
import torch
from tiny_training import MovingDiskSampler, register_tiny

import masklet
from masklet.train.optim import OptimConfig, build_optimizer, freeze, layer_scale, lr_factor, no_weight_decay
from masklet.train.unroll import ClipUnroller


def _groups_by_param(optimizer):
    return {id(p): g for g in optimizer.param_groups for p in g["params"]}


def test_layer_decay_weight_decay_exclusions_and_vision_lr():
    model = masklet.build_model(register_tiny())  # 4 trunk blocks
    cfg = OptimConfig(lr=1e-3, vision_lr=5e-4, layer_decay=0.5, weight_decay=0.1)
    groups = _groups_by_param(build_optimizer(model, cfg))
    params = dict(model.named_parameters())

    def lr(name):
        return groups[id(params[name])]["lr"]

    def wd(name):
        return groups[id(params[name])]["weight_decay"]

    assert lr("image_encoder.trunk.blocks.3.mlp.layers.0.weight") == pytest.approx(5e-4 * 0.5)
    assert lr("image_encoder.trunk.blocks.0.mlp.layers.0.weight") == pytest.approx(5e-4 * 0.5**4)
    assert lr("image_encoder.trunk.patch_embed.proj.weight") == pytest.approx(5e-4 * 0.5**5)
    assert lr("image_encoder.neck.convs.0.conv.weight") == pytest.approx(5e-4)
    assert lr("sam_mask_decoder.iou_prediction_head.layers.0.weight") == pytest.approx(1e-3)
    assert wd("sam_mask_decoder.iou_prediction_head.layers.0.weight") == 0.1
    for name in ("sam_mask_decoder.iou_prediction_head.layers.0.bias", "image_encoder.trunk.pos_embed",
                 "no_mem_embed", "maskmem_tpos_enc", "sam_mask_decoder.mask_tokens.weight",
                 "image_encoder.trunk.blocks.0.norm1.weight"):
        assert wd(name) == 0.0, name
    assert all(g["base_lr"] == g["lr"] for g in groups.values())


def test_the_trunk_can_learn_slower_than_the_rest_of_the_image_encoder():
    model = masklet.build_model(register_tiny())
    groups = _groups_by_param(build_optimizer(model, OptimConfig(lr=1e-3, vision_lr=5e-4, trunk_lr=1e-4)))
    params = dict(model.named_parameters())
    assert groups[id(params["image_encoder.trunk.blocks.3.mlp.layers.0.weight"])]["lr"] == pytest.approx(1e-4)
    assert groups[id(params["image_encoder.neck.convs.0.conv.weight"])]["lr"] == pytest.approx(5e-4)
    assert groups[id(params["sam_mask_decoder.iou_prediction_head.layers.0.weight"])]["lr"] == pytest.approx(1e-3)


def test_layer_scale_leaves_other_modules_alone():
    assert layer_scale("sam_mask_decoder.x.weight", 12, 0.9) == 1.0
    assert layer_scale("image_encoder.trunk.blocks.11.attn.qkv.weight", 12, 0.9) == pytest.approx(0.9)
    assert layer_scale("image_encoder.trunk.blocks.11.attn.qkv.weight", 12, 1.0) == 1.0
    assert layer_scale("image_encoder.trunk.stem.conv.weight", 12, 0.9) == pytest.approx(0.9**13)  # EfficientNet's stem
    assert no_weight_decay("x.bias", torch.nn.Parameter(torch.zeros(3)))


def test_warmup_then_cosine_to_the_floor():
    cfg = OptimConfig(warmup_steps=10, min_lr_ratio=0.1)
    assert lr_factor(0, 110, cfg) == pytest.approx(0.1)
    assert lr_factor(9, 110, cfg) == pytest.approx(1.0)
    assert lr_factor(10, 110, cfg) == pytest.approx(1.0)
    assert lr_factor(60, 110, cfg) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_factor(110, 110, cfg) == pytest.approx(0.1)
    values = [lr_factor(s, 110, cfg) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_frozen_parameters_are_left_out_of_the_optimizer():
    model = masklet.build_model(register_tiny())
    names = freeze(model, ("image_encoder", "sam_prompt_encoder"))
    assert names and all(n.startswith(("image_encoder.", "sam_prompt_encoder.")) for n in names)
    optimizer = build_optimizer(model, OptimConfig())
    trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert all(id(p) not in trained for n, p in model.named_parameters() if n in names)
    for param in model.parameters():
        param.requires_grad_(False)
    with pytest.raises(ValueError, match="every parameter is frozen"):
        build_optimizer(model, OptimConfig())


def _grads(model, checkpointing: bool, autocast: bool = False):
    torch.manual_seed(0)
    model.zero_grad()
    model.train()
    model.set_activation_checkpointing(checkpointing)
    batch = MovingDiskSampler().batch(0, 2, 2, model.image_size, 1)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = ClipUnroller(model).losses(batch, torch.Generator().manual_seed(0))["total"]
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_activation_checkpointing_gives_the_same_gradients():
    model = masklet.build_model(register_tiny())
    loss_a, plain = _grads(model, checkpointing=False)
    loss_b, recomputed = _grads(model, checkpointing=True)
    assert torch.equal(loss_a, loss_b)
    assert plain.keys() == recomputed.keys()
    for name in plain:
        torch.testing.assert_close(plain[name], recomputed[name], rtol=1e-5, atol=1e-7, msg=name)


def test_bf16_autocast_trains_close_to_float32():
    model = masklet.build_model(register_tiny())
    loss32, grads32 = _grads(model, checkpointing=False)
    loss16, grads16 = _grads(model, checkpointing=False, autocast=True)
    assert torch.isfinite(loss16) and abs(loss16 - loss32) / loss32 < 0.05
    cosine = torch.nn.functional.cosine_similarity(
        torch.cat([g.flatten() for g in grads32.values()]), torch.cat([grads16[n].flatten() for n in grads32]), dim=0
    )
    assert cosine > 0.95
