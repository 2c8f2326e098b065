"""Optimiser set-up: AdamW parameter groups (layer-wise LR decay, weight-decay exclusions,
frozen parts) and the warm-up + cosine learning-rate schedule."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import nn

_TRUNK = "image_encoder.trunk."
_TRUNK_BLOCK = re.compile(r"^image_encoder\.trunk\.blocks\.(\d+)\.")


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-3
    vision_lr: float | None = None  # learning rate of the image encoder; None: lr
    trunk_lr: float | None = None  # learning rate of the image encoder's trunk; None: vision_lr
    trunk_frozen_steps: int = 0  # the trunk is kept fixed for this many steps first (e.g. its ImageNet weights)
    weight_decay: float = 0.1
    layer_decay: float = 1.0  # trunk block i gets vision_lr x layer_decay ** (depth - i)
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 100
    min_lr_ratio: float = 0.01  # the cosine ends at lr x this
    grad_clip: float = 1.0  # max global gradient norm; 0 disables
    freeze: tuple[str, ...] = ()  # parameter-name prefixes kept fixed, e.g. "image_encoder"


def no_weight_decay(name: str, param: nn.Parameter) -> bool:
    """Biases, normalisation scales and learned embeddings/position tables are not decayed."""
    return param.ndim <= 1 or "pos_embed" in name or "embed" in name.split(".")[-1] or name.endswith(
        ("tokens.weight", "embeddings.weight", "maskmem_tpos_enc", "no_mem_embed", "no_mem_pos_enc", "no_obj_ptr")
    )


def freeze(model: nn.Module, prefixes: tuple[str, ...]) -> list[str]:
    """Stop gradients of every parameter under `prefixes`; returns their names. A prefix
    that matches nothing is an error (a typo would otherwise train everything)."""
    frozen = []
    for prefix in prefixes:
        names = [n for n, _ in model.named_parameters() if n == prefix or n.startswith(prefix.rstrip(".") + ".")]
        if not names:
            tops = sorted({n.split(".")[0] for n, _ in model.named_parameters()})
            raise ValueError(f"freeze: no parameter starts with {prefix!r}; top-level modules are {tops}")
        frozen += names
    for name, param in model.named_parameters():
        if name in frozen:
            param.requires_grad_(False)
    return frozen


def layer_scale(name: str, depth: int, decay: float) -> float:
    """LR multiplier of a parameter under layer-wise decay over the trunk's `depth` blocks:
    block i gets decay ** (depth - i), the trunk's other parameters (its stem: Hiera's patch
    and position embeddings, EfficientNet's first convolution) decay ** (depth + 1), every
    other module 1."""
    if decay == 1.0 or not name.startswith(_TRUNK):
        return 1.0
    block = _TRUNK_BLOCK.match(name)
    return decay ** (depth - int(block.group(1)) if block else depth + 1)


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters, one group per (lr scale, decay) pair; each group
    remembers its base learning rate in "base_lr" for the schedule."""
    depth = len(model.image_encoder.trunk.blocks)
    groups: dict[tuple[float, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lr = _base_lr(name, cfg) * layer_scale(name, depth, cfg.layer_decay)
        groups.setdefault((lr, no_weight_decay(name, param)), []).append(param)
    if not groups:
        raise ValueError("nothing to train: every parameter is frozen")
    param_groups = [
        {"params": params, "lr": lr, "base_lr": lr, "weight_decay": 0.0 if exempt else cfg.weight_decay}
        for (lr, exempt), params in sorted(groups.items())
    ]
    return torch.optim.AdamW(param_groups, betas=cfg.betas)


def _base_lr(name: str, cfg: OptimConfig) -> float:
    """The learning rate of parameter `name` before layer decay and the schedule."""
    if name.startswith(_TRUNK) and cfg.trunk_lr is not None:
        return cfg.trunk_lr
    if name.startswith("image_encoder.") and cfg.vision_lr is not None:
        return cfg.vision_lr
    return cfg.lr


def lr_factor(step: int, total_steps: int, cfg: OptimConfig) -> float:
    """Linear warm-up from 0 over `warmup_steps`, then cosine down to `min_lr_ratio`."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(total_steps - cfg.warmup_steps, 1)
    progress = min((step - cfg.warmup_steps) / span, 1.0)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def set_learning_rates(optimizer: torch.optim.Optimizer, factor: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
