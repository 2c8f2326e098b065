"""What is exported: every graph's wrapper, input and output names, dynamic axes and example
inputs, derived from a model's config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from masklet.export.image_encoder import ImageEncoderGraph
from masklet.export.memory import (
    MemoryAttentionGraph,
    MemoryEncoderGraph,
    PointerPositionGraph,
)
from masklet.export.prompt_decoder import (
    MaskDecoderGraph,
    MaskPromptGraph,
    PromptDecoderGraph,
)
from masklet.model.sam2 import SAM2Model

# Sizes of the dynamic axes in the example inputs: none is 0 or 1, so the exporter cannot
# mistake an axis for a broadcast or a constant, and they differ from each other.
EXAMPLE_OBJECTS, EXAMPLE_POINTS, EXAMPLE_FRAMES, EXAMPLE_POINTERS = 2, 3, 2, 4


@dataclass
class GraphSpec:
    name: str
    build: Callable[[SAM2Model], nn.Module]
    inputs: dict[str, tuple]  # name -> shape; str entries are dynamic axes
    outputs: dict[str, tuple]
    dtypes: dict[str, torch.dtype]  # inputs that are not float32
    labels: tuple[str, ...] = ()  # float32 inputs that carry click labels (examples: 0 or 1)

    def example(self, sizes: dict[str, int], generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Random inputs with every dynamic axis set from `sizes`."""
        out = []
        for name, shape in self.inputs.items():
            concrete = [sizes[d] if isinstance(d, str) else d for d in shape]
            dtype = self.dtypes.get(name, torch.float32)
            if dtype == torch.int64 or name in self.labels:
                out.append(torch.randint(0, 2, concrete, generator=generator).to(dtype))
            elif dtype == torch.bool:
                out.append(torch.ones(concrete, dtype=torch.bool))
            else:
                out.append(torch.randn(concrete, generator=generator))
        return tuple(out)

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        axes = {}
        for name, shape in {**self.inputs, **self.outputs}.items():
            dynamic = {i: d for i, d in enumerate(shape) if isinstance(d, str)}
            if dynamic:
                axes[name] = dynamic
        return axes


def graph_specs(model: SAM2Model) -> list[GraphSpec]:
    """The seven graphs of a model. Dynamic axes: objects (B), image_batch (1 or B: features
    shared by all objects), points (N), memory_tokens (F * hw), pointer_tokens (P), pointers."""
    cfg = model.config
    s, c, mem = cfg.image_size, cfg.d_model, cfg.mem_dim
    h = cfg.image_embedding_size
    hw = h * h
    features = {"image_embed": ("objects", c, h, h), "high_res_feats_0": ("image_batch", c // 8, 4 * h, 4 * h),
                "high_res_feats_1": ("image_batch", c // 4, 2 * h, 2 * h)}
    mask_prompt = {"mask_input": ("objects", 1, 4 * h, 4 * h), "has_mask_input": (1,)}
    decoded = {"multi_masks": ("objects", 3, 4 * h, 4 * h), "multi_ious": ("objects", 3), "multi_pointers": ("objects", 3, c),
               "single_masks": ("objects", 1, 4 * h, 4 * h), "single_ious": ("objects", 1),
               "single_pointers": ("objects", 1, c), "object_score_logits": ("objects", 1)}
    return [
        GraphSpec(
            "image_encoder", ImageEncoderGraph,
            {"images": ("images", 3, s, s)},
            {"high_res_feats_0": ("images", c // 8, 4 * h, 4 * h), "high_res_feats_1": ("images", c // 4, 2 * h, 2 * h),
             "vision_feats": ("images", c, h, h), "vision_pos": ("images", c, h, h)},
            {},
        ),
        GraphSpec(
            "prompt_decoder", PromptDecoderGraph,
            {**features, "point_coords": ("objects", "points", 2), "point_labels": ("objects", "points"), **mask_prompt},
            decoded,
            {"point_labels": torch.int64},
        ),
        GraphSpec("mask_decoder", MaskDecoderGraph, {**features, **mask_prompt}, decoded, {}),
        GraphSpec(
            "mask_prompt", MaskPromptGraph,
            {"masks": ("objects", 1, s, s)},
            {"mask_input": ("objects", 1, s // 4, s // 4)},
            {},
        ),
        GraphSpec(
            "memory_encoder", MemoryEncoderGraph,
            {"vision_feats": ("image_batch", c, h, h), "masks": ("objects", 1, s, s),
             "object_score_logits": ("objects", 1), "binarize": (1,)},
            {"memory": ("objects", mem, h, h)},
            {"binarize": torch.bool},
        ),
        GraphSpec(
            "memory_attention", MemoryAttentionGraph,
            {"curr": ("objects", hw, c), "curr_pos": ("objects", hw, c), "memory": ("objects", "memory_tokens", mem),
             "memory_pos": ("objects", "memory_tokens", mem), "obj_ptrs": ("objects", "pointer_tokens", mem),
             "obj_ptrs_pos": ("objects", "pointer_tokens", mem)},
            {"conditioned": ("objects", hw, c)},
            {},
        ),
        GraphSpec(
            "pointer_position", PointerPositionGraph,
            {"positions": ("pointers",)},
            {"pointer_pos": ("pointers", mem)},
            {},
        ),
    ]


def example_sizes(model: SAM2Model, scale: int = 1) -> dict[str, int]:
    """Concrete sizes for every dynamic axis (`scale` > 1 for a second, larger set)."""
    hw = model.config.image_embedding_size**2
    split = model.hidden_dim // model.mem_dim
    return {
        "images": EXAMPLE_OBJECTS * scale, "objects": EXAMPLE_OBJECTS * scale, "image_batch": EXAMPLE_OBJECTS * scale,
        "points": EXAMPLE_POINTS * scale, "memory_tokens": EXAMPLE_FRAMES * scale * hw,
        "pointer_tokens": EXAMPLE_POINTERS * scale * split, "pointers": EXAMPLE_POINTERS * scale,
    }
