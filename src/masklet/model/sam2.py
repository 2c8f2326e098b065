"""The SAM 2 network: image encoder, SAM heads and video-memory modules in one module tree.

Parameter names follow Meta's official checkpoints exactly, so their state-dicts load as-is.
The module computes nothing on its own (`forward` is not defined): it is the torch backend's
`masklet.backend.TrackingModel`, whose primitives the predictors drive, with the rules between
them in `masklet.backend.heads`. The video methods work on a batch of B objects seen on one
frame; which memories each object attends to is the predictor's business
(`masklet.predict.memory_bank`).
"""

from __future__ import annotations

import torch
from torch import nn

from masklet.backend.outputs import MaskProposals
from masklet.config import SAM2Config
from masklet.model.arrays import TorchArrays
from masklet.model.common import MLP
from masklet.model.image_encoder import ImageEncoder
from masklet.model.int8 import has_int8_layers
from masklet.model.mask_decoder import MaskDecoder
from masklet.model.memory_attention import MemoryAttention
from masklet.model.memory_encoder import MemoryEncoder
from masklet.model.position import sine_encoding_1d
from masklet.model.prompt_encoder import PromptEncoder


class SAM2Model(nn.Module):
    """The whole network; its constructor is the one place that turns a `SAM2Config` into
    the submodules' keyword arguments."""

    backend = "torch"

    def __init__(self, config: SAM2Config) -> None:
        super().__init__()
        self.config = config
        hidden, mem = config.d_model, config.mem_dim
        self.image_size = config.image_size
        self.hidden_dim = hidden
        self.mem_dim = mem

        self.image_encoder = ImageEncoder(
            trunk=config.trunk,
            d_model=hidden,
            fpn_top_down_levels=config.fpn_top_down_levels,
            fpn_interp_model=config.fpn_interp_model,
            scalp=config.scalp,
        )
        # Mask prompts given at image resolution are reduced 4x to the SAM mask-input size.
        self.mask_downsample = nn.Conv2d(1, 1, kernel_size=4, stride=4)
        self.memory_attention = MemoryAttention(
            d_model=hidden,
            mem_dim=mem,
            num_layers=config.memory_attention_layers,
            ffn_dim=config.memory_attention_ffn_dim,
            rope_theta=config.rope_theta,
        )
        self.memory_encoder = MemoryEncoder(in_dim=hidden, out_dim=mem)

        # Learned embeddings of the memory pathway ([T, 1, 1, mem] temporal codes, [1, 1, C]
        # stand-ins for "no memory yet", [1, C] pointer of an absent object).
        self.maskmem_tpos_enc = nn.Parameter(torch.zeros(config.num_maskmem, 1, 1, mem))
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, hidden))
        self.no_mem_pos_enc = nn.Parameter(torch.zeros(1, 1, hidden))
        self.no_obj_ptr = nn.Parameter(torch.zeros(1, hidden))
        self.no_obj_embed_spatial = (
            nn.Parameter(torch.zeros(1, mem)) if config.no_obj_embed_spatial else None
        )

        embed_size = config.image_embedding_size
        self.sam_prompt_encoder = PromptEncoder(
            embed_dim=hidden,
            image_embedding_size=(embed_size, embed_size),
            input_image_size=(config.image_size, config.image_size),
        )
        self.sam_mask_decoder = MaskDecoder(
            transformer_dim=hidden,
            transformer_mlp_dim=config.decoder_mlp_dim,
            dynamic_multimask_via_stability=config.dynamic_multimask_via_stability,
            dynamic_multimask_stability_delta=config.dynamic_multimask_stability_delta,
            dynamic_multimask_stability_thresh=config.dynamic_multimask_stability_thresh,
        )
        self.obj_ptr_proj = MLP(input_dim=hidden, hidden_dim=hidden, output_dim=hidden, num_layers=3)
        self.obj_ptr_tpos_proj = (
            nn.Linear(hidden, mem) if config.proj_tpos_enc_in_obj_ptrs else nn.Identity()
        )
        self._init_embeddings()
        self._arrays: TorchArrays | None = None  # see `arrays`

    def _init_embeddings(self) -> None:
        for p in (self.maskmem_tpos_enc, self.no_mem_embed, self.no_mem_pos_enc, self.no_obj_ptr):
            nn.init.trunc_normal_(p, std=0.02)
        if self.no_obj_embed_spatial is not None:
            nn.init.trunc_normal_(self.no_obj_embed_spatial, std=0.02)

    def set_activation_checkpointing(self, enabled: bool) -> None:
        """Training option: recompute the image trunk's activations block by block in the
        backward pass instead of storing them (less memory, about a third more compute)."""
        self.image_encoder.trunk.activation_checkpointing = enabled

    def set_drop_path(self, rate: float) -> None:
        """Stochastic depth of the image trunk, rising linearly from 0 on its first block to
        `rate` on its last."""
        self.image_encoder.trunk.set_drop_path(rate)

    @property
    def device(self) -> torch.device:
        return self.no_mem_embed.device

    @property
    def dtype(self) -> torch.dtype:
        return self.no_mem_embed.dtype

    @property
    def precision(self) -> str:
        """The arithmetic the model runs in: "int8" once `masklet.model.int8.quantize_image_encoder`
        ran on it, else its weights' dtype ("float32", "bfloat16", "float16")."""
        return "int8" if has_int8_layers(self) else str(self.dtype).removeprefix("torch.")

    @property
    def arrays(self) -> TorchArrays:
        """The array operations of the prediction glue: tensors on this model's device and dtype
        (made again only after the model moves or changes dtype)."""
        if self._arrays is None or (self._arrays.device, self._arrays.dtype) != (self.device, self.dtype):
            self._arrays = TorchArrays(self.device, self.dtype)
        return self._arrays

    def forward_image(self, images: torch.Tensor) -> dict:
        """Backbone features of normalised images [B, 3, S, S].

        Returns the image encoder's dict with the two high-resolution FPN levels already
        projected by the decoder's skip convolutions:
          backbone_fpn:   [B, 32, S/4, S/4], [B, 64, S/8, S/8], [B, 256, S/16, S/16]
          vision_pos_enc: matching [B, 256, h, w] position encodings
          vision_features: the S/16 level
        """
        out = self.image_encoder(images)
        fpn = list(out["backbone_fpn"])
        fpn[0] = self.sam_mask_decoder.conv_s0(fpn[0])
        fpn[1] = self.sam_mask_decoder.conv_s1(fpn[1])
        out["backbone_fpn"] = fpn
        return out

    # ------------------------------------------------------------------ prompts

    def decode_prompts(
        self,
        image_embed: torch.Tensor,
        high_res_feats: list[torch.Tensor],
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        mask_input: torch.Tensor | None,
        multimask_output: bool,
    ) -> MaskProposals:
        """Prompt encoder + mask decoder, the one path from prompts to masks (see
        `masklet.backend.TrackingModel.decode_prompts`).

        image_embed [1 or B, C, h, w]; high_res_feats [[1 or B, C/8, 4h, 4w], [1 or B, C/4, 2h, 2w]];
        point_coords [B, N, 2] model pixels, point_labels [B, N] (None: no point tokens);
        mask_input [B, 1, 4h, 4w] logits or None. Masks and IoUs come back as float32."""
        points = None if point_coords is None else (point_coords.to(image_embed.dtype), point_labels)
        masks = None if mask_input is None else mask_input.to(image_embed.dtype)
        sparse, dense = self.sam_prompt_encoder(points=points, boxes=None, masks=masks)
        masks, ious, tokens, object_score_logits = self.sam_mask_decoder(
            image_embeddings=image_embed,
            image_pe=self.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask_output,
            repeat_image=image_embed.shape[0] != sparse.shape[0],
            high_res_features=high_res_feats,
        )
        return MaskProposals(masks.float(), ious.float(), self.obj_ptr_proj(tokens), object_score_logits)

    def downsample_mask(self, masks: torch.Tensor) -> torch.Tensor:
        """Binary masks [B, 1, S, S] -> [B, 1, S/4, S/4] decoder mask input."""
        return self.mask_downsample(masks)

    # ------------------------------------------------------------------ video

    def encode_memory(
        self,
        vision_feats: torch.Tensor,
        high_res_masks: torch.Tensor,
        object_score_logits: torch.Tensor,
        binarize: bool,
    ) -> torch.Tensor:
        """A frame's memory for B objects: vision_feats [1 or B, C, h, w] (raw, without memory)
        fused with masks [B, 1, S, S] -> [B, mem_dim, h, w]. Masks enter as
        sigmoid(logits) (or a hard 0/1 when `binarize`) scaled to the memory encoder's range;
        absent objects get the learned `no_obj_embed_spatial` added (SAM 2.1)."""
        cfg = self.config
        masks = (high_res_masks > 0).float() if binarize else torch.sigmoid(high_res_masks)
        masks = masks * cfg.sigmoid_scale_for_mem_enc + cfg.sigmoid_bias_for_mem_enc
        features = self.memory_encoder(vision_feats, masks.to(vision_feats.dtype), skip_mask_sigmoid=True)
        features = features["vision_features"]
        if self.no_obj_embed_spatial is not None:
            absent = (object_score_logits <= 0).to(features.dtype)  # [B, 1]
            features = features + absent[:, :, None, None] * self.no_obj_embed_spatial[:, :, None, None]
        return features

    def memory_queries(self, curr: torch.Tensor, curr_pos: torch.Tensor) -> torch.Tensor:
        """A frame's tokens [1 or B, hw, C] and their position code -> the part of memory
        attention that the frame alone decides, [1 or B, hw, C] (`attend_memory` takes its rows)."""
        return self.memory_attention.frame_queries(curr, curr_pos)

    def attend_memory(
        self, queries: torch.Tensor, memory: torch.Tensor, memory_pos: torch.Tensor, num_obj_ptr_tokens: int = 0,
        memory_pool: int = 1, num_pooled_tokens: int = 0,
    ) -> torch.Tensor:
        """`memory_queries` rows [1 or B, hw, C] conditioned on memory / memory_pos [B, M, mem_dim]
        -> [B, hw, C] (see `masklet.backend.TrackingModel.attend_memory`)."""
        return self.memory_attention.attend_memory(
            queries, memory, memory_pos, num_obj_ptr_tokens=num_obj_ptr_tokens, memory_pool=memory_pool,
            num_pooled_tokens=num_pooled_tokens,
        )

    def memory_position_encoding(self, height: int, width: int) -> torch.Tensor:
        """The memory's spatial position encoding [1, mem_dim, h, w] (the same for every
        memory, so predictors compute it once)."""
        return self.memory_encoder.position_encoding.encode_grid(height, width, self.device)[None].to(self.dtype)

    def pointer_temporal_code(self, positions: torch.Tensor) -> torch.Tensor:
        """Temporal codes [P, mem_dim] of object pointers at normalised distances `positions`
        [P] (`masklet.backend.heads.pointer_positions` normalises). Zeros unless the config adds
        them (SAM 2.1)."""
        cfg = self.config
        if not cfg.add_tpos_enc_to_obj_ptrs:
            return torch.zeros(positions.shape[0], self.mem_dim, device=self.device, dtype=self.dtype)
        dim = self.hidden_dim if cfg.proj_tpos_enc_in_obj_ptrs else self.mem_dim
        return self.obj_ptr_tpos_proj(sine_encoding_1d(positions.float(), dim).to(self.dtype))
