"""A tiny model config and a deterministic synthetic clip sampler for trainer tests (imported by
tests/train/test_trainer.py and tests/test_cli_train.py; not a conftest, so the root
conftest's helpers stay importable as `conftest`)."""

from __future__ import annotations

import numpy as np
import torch

from masklet.config import HieraConfig, SAM2Config
from masklet.train.unroll import ClipBatchView

TINY = SAM2Config(
    name="train-test-tiny",
    trunk=HieraConfig(embed_dim=8, num_heads=1, stages=(1, 1, 1, 1), global_att_blocks=(2,), window_spec=(4, 2, 2, 2)),
    image_size=64,
    d_model=32,
    decoder_mlp_dim=64,
    mem_dim=8,
    memory_attention_layers=1,
    memory_attention_ffn_dim=64,
)


class MovingDiskSampler:
    """Clips of a bright disk moving over a dark textured background; `num_samples` distinct
    clips (the step picks one), each a pure function of its index."""

    def __init__(self, num_samples: int = 4):
        self.num_samples = num_samples

    def batch(self, step, batch_size, num_frames, image_size, max_objects):
        frames, masks = [], []
        for slot in range(batch_size):
            rng = np.random.default_rng((step * batch_size + slot) % self.num_samples)
            cx, cy = rng.uniform(0.3, 0.7, 2) * image_size
            vx, vy = rng.uniform(-2, 2, 2)
            radius = rng.uniform(0.12, 0.2) * image_size
            background = torch.from_numpy(rng.normal(0, 0.3, (3, image_size, image_size))).float()
            yy, xx = torch.meshgrid(torch.arange(image_size), torch.arange(image_size), indexing="ij")
            clip_frames, clip_masks = [], []
            for t in range(num_frames):
                disk = (xx - cx - vx * t) ** 2 + (yy - cy - vy * t) ** 2 <= radius**2
                clip_frames.append(torch.where(disk, torch.tensor(1.5).view(1, 1, 1), background))
                clip_masks.append(disk)
            frames.append(torch.stack(clip_frames))
            masks.append(torch.stack(clip_masks))
        return ClipBatchView(
            frames=torch.stack(frames),  # [B, T, 3, S, S]
            masks=torch.stack(masks, dim=1),  # [T, B, S, S]
            clip_of_object=torch.arange(batch_size),
        )


def register_tiny() -> SAM2Config:
    """TINY, registered so training configs can name it."""
    from masklet.config import MODEL_CONFIGS, register_config

    if TINY.name not in MODEL_CONFIGS:
        register_config(TINY)
    return TINY
