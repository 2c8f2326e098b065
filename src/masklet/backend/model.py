"""`TrackingModel`: what a backend's model must offer the predictors.

A backend is one module that implements this protocol (`masklet.model.sam2.SAM2Model` for torch,
`masklet.exported.model.ExportedSAM2Model` for ONNX Runtime and OpenVINO): the network's steps as primitives, plus
its `ArrayOps`. The rules between the steps (which mask to keep, the object pointer of an absent
object, a mask prompt taken as output) live once in `masklet.backend.heads`, so every backend
follows them. Predictors see models only through this protocol and never import a backend.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from masklet.backend.arrays import Array, ArrayOps
from masklet.backend.outputs import MaskProposals
from masklet.config import SAM2Config

# Images reach `forward_image` as (rgb / 255 - IMAGENET_MEAN) / IMAGENET_STD, per channel.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@runtime_checkable
class TrackingModel(Protocol):
    """The network of one backend. Shapes: S = image_size, h = w = S / 16, C = hidden_dim,
    B objects (or prompts)."""

    backend: str  # "torch", "onnx", ...: the name `masklet.load_model(..., backend=)` takes
    config: SAM2Config
    image_size: int
    hidden_dim: int
    mem_dim: int
    no_mem_embed: Array  # [1, 1, C] added to features that attend to no memory
    no_obj_ptr: Array  # [1, C] the pointer of an object judged absent
    maskmem_tpos_enc: Array  # [num_maskmem, 1, 1, mem_dim] temporal code of each memory slot

    @property
    def arrays(self) -> ArrayOps: ...

    @property
    def device(self) -> Any: ...

    def eval(self) -> TrackingModel:
        """Switch to inference behaviour (no dropout; the decoder's single-mask stability
        fallback on) and return the model."""
        ...

    def forward_image(self, images: Array) -> dict:
        """Normalised images [B, 3, S, S] (see IMAGENET_MEAN) -> {"backbone_fpn": [[B, C/8, 4h, 4w], [B, C/4, 2h, 2w],
        [B, C, h, w]], "vision_pos_enc": position codes (at least the last level's),
        "vision_features": the last level}."""
        ...

    def decode_prompts(
        self, image_embed: Array, high_res_feats: list, point_coords: Array | None, point_labels: Array | None,
        mask_input: Array | None, multimask_output: bool,
    ) -> MaskProposals:
        """The prompt encoder and mask decoder: every path that turns prompts into masks calls this.

        image_embed [1 or B, C, h, w] (one image serves all B prompts); high_res_feats
        [[1 or B, C/8, 4h, 4w], [1 or B, C/4, 2h, 2w]]; point_coords [B, N, 2] in model pixels
        with point_labels [B, N] (None: no point tokens at all); mask_input [B, 1, 4h, 4w]
        low-res logits (None: the learned no-mask embedding)."""
        ...

    def downsample_mask(self, masks: Array) -> Array:
        """Binary masks [B, 1, S, S] -> [B, 1, S/4, S/4]: the learned reduction of a mask taken
        as output to the decoder's mask input."""
        ...

    def encode_memory(self, vision_feats: Array, high_res_masks: Array, object_score_logits: Array,
                      binarize: bool) -> Array:
        """Features [1 or B, C, h, w] fused with masks [B, 1, S, S] -> memories [B, mem_dim, h, w]."""
        ...

    def memory_queries(self, curr: Array, curr_pos: Array) -> Array:
        """A frame's tokens [1 or B, hw, C] and their position code [1 or B, hw, C] -> rows
        [1 or B, hw, ...] for `attend_memory`: the part of memory attention that the frame
        alone decides, computed once per frame and shared by all its objects."""
        ...

    def attend_memory(self, queries: Array, memory: Array, memory_pos: Array, num_obj_ptr_tokens: int = 0,
                      memory_pool: int = 1, num_pooled_tokens: int = 0) -> Array:
        """`memory_queries` rows [1 or B, hw, ...] (one row serves every object) attending to
        memory [B, M, mem_dim] whose last `num_obj_ptr_tokens` tokens are object pointers
        -> [B, hw, C]. `memory_pool` > 1: the last `num_pooled_tokens` spatial tokens (whole
        memories, just before the pointers) are read pooled in cells of that side
        (`masklet.model.memory_pooling`); a backend that cannot pool raises OptionError."""
        ...

    def memory_position_encoding(self, height: int, width: int) -> Array:
        """The spatial position code of every memory, [1, mem_dim, h, w]."""
        ...

    def pointer_temporal_code(self, positions: Array) -> Array:
        """Temporal codes [P, mem_dim] of object pointers at normalised distances `positions` [P]."""
        ...


def require_model(model: Any, argument: str = "model", backends: tuple[str, ...] | None = None) -> TrackingModel:
    """`model` itself if it is a tracking model (of one of `backends`, where given), else a
    TypeError that says how to get one."""
    if not isinstance(model, TrackingModel):
        raise TypeError(
            f"{argument} must be a masklet model (a SAM2Model, or the model of another backend), got "
            f"{type(model).__name__}; create one with masklet.load_model(...)"
        )
    if backends is not None and model.backend not in backends:
        raise TypeError(
            f"{argument} runs on the {model.backend} backend; this needs a model of backend "
            f"{' or '.join(repr(b) for b in backends)}: load the checkpoint with "
            f"masklet.load_model(..., backend={backends[0]!r})"
        )
    return model
