"""The SAM 2 network: image encoder, SAM heads and video-memory modules in one module tree.

Parameter names follow Meta's official checkpoints exactly, so their state-dicts load as-is.
The module computes nothing on its own (`forward` is not defined): predictors in
`masklet.predict` drive it through the methods below.
"""

from __future__ import annotations

import torch
from torch import nn

from masklet.config import SAM2Config
from masklet.model.common import MLP
from masklet.model.image_encoder import build_image_encoder
from masklet.model.mask_decoder import MaskDecoder
from masklet.model.memory_attention import build_memory_attention
from masklet.model.memory_encoder import build_memory_encoder
from masklet.model.prompt_encoder import PromptEncoder
from masklet.model.transformer import TwoWayTransformer


class SAM2Model(nn.Module):
    def __init__(self, config: SAM2Config) -> None:
        super().__init__()
        self.config = config
        hidden, mem = config.d_model, config.mem_dim
        self.image_size = config.image_size
        self.hidden_dim = hidden
        self.mem_dim = mem

        self.image_encoder = build_image_encoder(config)
        # Mask prompts given at image resolution are reduced 4x to the SAM mask-input size.
        self.mask_downsample = nn.Conv2d(1, 1, kernel_size=4, stride=4)
        self.memory_attention = build_memory_attention(config)
        self.memory_encoder = build_memory_encoder(config)

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
            mask_in_chans=16,
        )
        self.sam_mask_decoder = MaskDecoder(
            transformer_dim=hidden,
            transformer=TwoWayTransformer(depth=2, embedding_dim=hidden, mlp_dim=2048, num_heads=8),
            num_multimask_outputs=3,
            iou_head_depth=3,
            iou_head_hidden_dim=256,
            use_high_res_features=True,
            iou_prediction_use_sigmoid=True,
            pred_obj_scores=True,
            pred_obj_scores_mlp=True,
            use_multimask_token_for_obj_ptr=True,
            dynamic_multimask_via_stability=config.dynamic_multimask_via_stability,
            dynamic_multimask_stability_delta=config.dynamic_multimask_stability_delta,
            dynamic_multimask_stability_thresh=config.dynamic_multimask_stability_thresh,
        )
        self.obj_ptr_proj = MLP(hidden, hidden, hidden, 3)
        self.obj_ptr_tpos_proj = (
            nn.Linear(hidden, mem) if config.proj_tpos_enc_in_obj_ptrs else nn.Identity()
        )
        self._init_embeddings()

    def _init_embeddings(self) -> None:
        for p in (self.maskmem_tpos_enc, self.no_mem_embed, self.no_mem_pos_enc, self.no_obj_ptr):
            nn.init.trunc_normal_(p, std=0.02)
        if self.no_obj_embed_spatial is not None:
            nn.init.trunc_normal_(self.no_obj_embed_spatial, std=0.02)

    @property
    def device(self) -> torch.device:
        return self.no_mem_embed.device

    @property
    def dtype(self) -> torch.dtype:
        return self.no_mem_embed.dtype

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

    def image_embeddings(self, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Features for single-image prompting (no memory).

        Returns (image_embed [B, 256, S/16, S/16] with `no_mem_embed` added,
        high_res_feats [[B, 32, S/4, S/4], [B, 64, S/8, S/8]]).
        """
        fpn = self.forward_image(images)["backbone_fpn"]
        image_embed = fpn[2] + self.no_mem_embed.view(1, -1, 1, 1)
        return image_embed, fpn[:2]
