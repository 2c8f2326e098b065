"""Optimiser set-up: AdamW parameter groups (layer-wise LR decay, weight-decay exclusions,
frozen parts) and the warm-up + cosine learning-rate schedule."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import nn

_TRUNK_BLOCK = re.compile(r"^image_encoder\.trunk\.blocks\.(\d+)\.")
_TRUNK_STEM = ("image_encoder.trunk.patch_embed.", "image_encoder.trunk.pos_embed")


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-3
    vision_lr: float | None = None  # learning rate of the image encoder; None: lr
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
    the stem gets decay ** (depth + 1), block i decay ** (depth - i), everything else 1."""
    if decay == 1.0 or not name.startswith("image_encoder.trunk."):
        return 1.0
    block = _TRUNK_BLOCK.match(name)
    if block:
        return decay ** (depth - int(block.group(1)))
    if name.startswith(_TRUNK_STEM):
        return decay ** (depth + 1)
    return 1.0


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters, one group per (lr scale, decay) pair; each group
    remembers its base learning rate in "base_lr" for the schedule."""
    depth = len(model.image_encoder.trunk.blocks)
    groups: dict[tuple[float, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        base = cfg.vision_lr if cfg.vision_lr is not None and name.startswith("image_encoder.") else cfg.lr
        lr = base * layer_scale(name, depth, cfg.layer_decay)
        groups.setdefault((lr, no_weight_decay(name, param)), []).append(param)
    if not groups:
        raise ValueError("nothing to train: every parameter is frozen")
    param_groups = [
        {"params": params, "lr": lr, "base_lr": lr, "weight_decay": 0.0 if exempt else cfg.weight_decay}
        for (lr, exempt), params in sorted(groups.items())
    ]
    return torch.optim.AdamW(param_groups, betas=cfg.betas)


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
