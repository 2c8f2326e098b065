"""The Hugging Face transformers layout of SAM 2 weights (`facebook/sam2.1-hiera-*-hf`),
mapped to and from Meta's official layout.

The mapping is a table of key templates: `{n}` stands for a block index and `{p}` for the
parameter leaf (weight / bias). Besides renames, HF stores the four point embeddings as one
[4, C] table and keeps the prompt encoder's random-Fourier matrix twice (once as
`shared_image_embedding`).
"""

from __future__ import annotations

import re

import torch

from masklet.config import MODEL_CONFIGS, HieraConfig, SAM2Config


def _mlp(meta: str, hf: str, depth: int) -> list[tuple[str, str]]:
    """MLP layers: Meta `layers.0 .. layers.{d-1}`; HF `proj_in`, `layers.0 ..`, `proj_out`."""
    rules = [(f"{meta}.layers.0.{{p}}", f"{hf}.proj_in.{{p}}"), (f"{meta}.layers.{depth - 1}.{{p}}", f"{hf}.proj_out.{{p}}")]
    rules += [(f"{meta}.layers.{i}.{{p}}", f"{hf}.layers.{i - 1}.{{p}}") for i in range(1, depth - 1)]
    return rules


def _attention(meta: str, hf: str) -> list[tuple[str, str]]:
    return [(f"{meta}.{proj}.{{p}}", f"{hf}.{proj}.{{p}}") for proj in ("q_proj", "k_proj", "v_proj")] + [
        (f"{meta}.out_proj.{{p}}", f"{hf}.o_proj.{{p}}")
    ]


_TRUNK, _HF_TRUNK = "image_encoder.trunk", "vision_encoder.backbone"
_DEC, _TF = "sam_mask_decoder", "sam_mask_decoder.transformer.layers.{n}"
_HF_TF = "mask_decoder.transformer.layers.{n}"
_MA, _HF_MA = "memory_attention.layers.{n}", "memory_attention.layers.{n}"
_FUSER, _HF_FUSER = "memory_encoder.fuser.layers.{n}", "memory_encoder.memory_fuser.layers.{n}"

RULES: list[tuple[str, str]] = [
    # top-level embeddings
    ("no_mem_embed", "no_memory_embedding"),
    ("no_mem_pos_enc", "no_memory_positional_encoding"),
    ("maskmem_tpos_enc", "memory_temporal_positional_encoding"),
    ("no_obj_ptr", "no_object_pointer"),
    ("no_obj_embed_spatial", "occlusion_spatial_embedding_parameter"),
    ("mask_downsample.{p}", "mask_downsample.{p}"),
    ("obj_ptr_tpos_proj.{p}", "temporal_positional_encoding_projection_layer.{p}"),
    *_mlp("obj_ptr_proj", "object_pointer_proj", 3),
    # image encoder
    (f"{_TRUNK}.pos_embed", f"{_HF_TRUNK}.pos_embed"),
    (f"{_TRUNK}.pos_embed_window", f"{_HF_TRUNK}.pos_embed_window"),
    (f"{_TRUNK}.patch_embed.proj.{{p}}", f"{_HF_TRUNK}.patch_embed.projection.{{p}}"),
    (f"{_TRUNK}.blocks.{{n}}.norm1.{{p}}", f"{_HF_TRUNK}.blocks.{{n}}.layer_norm1.{{p}}"),
    (f"{_TRUNK}.blocks.{{n}}.norm2.{{p}}", f"{_HF_TRUNK}.blocks.{{n}}.layer_norm2.{{p}}"),
    (f"{_TRUNK}.blocks.{{n}}.attn.qkv.{{p}}", f"{_HF_TRUNK}.blocks.{{n}}.attn.qkv.{{p}}"),
    (f"{_TRUNK}.blocks.{{n}}.attn.proj.{{p}}", f"{_HF_TRUNK}.blocks.{{n}}.attn.proj.{{p}}"),
    (f"{_TRUNK}.blocks.{{n}}.proj.{{p}}", f"{_HF_TRUNK}.blocks.{{n}}.proj.{{p}}"),
    *_mlp(f"{_TRUNK}.blocks.{{n}}.mlp", f"{_HF_TRUNK}.blocks.{{n}}.mlp", 2),
    ("image_encoder.neck.convs.{n}.conv.{p}", "vision_encoder.neck.convs.{n}.{p}"),
    # prompt encoder (point embeddings and the Fourier matrix are special-cased below)
    ("sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", "prompt_encoder.shared_embedding.positional_embedding"),
    ("sam_prompt_encoder.not_a_point_embed.weight", "prompt_encoder.not_a_point_embed.weight"),
    ("sam_prompt_encoder.no_mask_embed.weight", "prompt_encoder.no_mask_embed.weight"),
    ("sam_prompt_encoder.mask_downscaling.0.{p}", "prompt_encoder.mask_embed.conv1.{p}"),
    ("sam_prompt_encoder.mask_downscaling.1.{p}", "prompt_encoder.mask_embed.layer_norm1.{p}"),
    ("sam_prompt_encoder.mask_downscaling.3.{p}", "prompt_encoder.mask_embed.conv2.{p}"),
    ("sam_prompt_encoder.mask_downscaling.4.{p}", "prompt_encoder.mask_embed.layer_norm2.{p}"),
    ("sam_prompt_encoder.mask_downscaling.6.{p}", "prompt_encoder.mask_embed.conv3.{p}"),
    # mask decoder
    *[(f"{_DEC}.{t}.weight", f"mask_decoder.{t}.weight") for t in ("iou_token", "mask_tokens", "obj_score_token")],
    (f"{_DEC}.output_upscaling.0.{{p}}", "mask_decoder.upscale_conv1.{p}"),
    (f"{_DEC}.output_upscaling.1.{{p}}", "mask_decoder.upscale_layer_norm.{p}"),
    (f"{_DEC}.output_upscaling.3.{{p}}", "mask_decoder.upscale_conv2.{p}"),
    (f"{_DEC}.conv_s0.{{p}}", "mask_decoder.conv_s0.{p}"),
    (f"{_DEC}.conv_s1.{{p}}", "mask_decoder.conv_s1.{p}"),
    *_mlp(f"{_DEC}.output_hypernetworks_mlps.{{n}}", "mask_decoder.output_hypernetworks_mlps.{n}", 3),
    *_mlp(f"{_DEC}.iou_prediction_head", "mask_decoder.iou_prediction_head", 3),
    *_mlp(f"{_DEC}.pred_obj_score_head", "mask_decoder.pred_obj_score_head", 3),
    *[r for a in ("self_attn", "cross_attn_token_to_image", "cross_attn_image_to_token")
      for r in _attention(f"{_TF}.{a}", f"{_HF_TF}.{a}")],
    *[(f"{_TF}.norm{i}.{{p}}", f"{_HF_TF}.layer_norm{i}.{{p}}") for i in (1, 2, 3, 4)],
    *_mlp(f"{_TF}.mlp", f"{_HF_TF}.mlp", 2),
    *_attention(f"{_DEC}.transformer.final_attn_token_to_image", "mask_decoder.transformer.final_attn_token_to_image"),
    (f"{_DEC}.transformer.norm_final_attn.{{p}}", "mask_decoder.transformer.layer_norm_final_attn.{p}"),
    # memory attention
    *_attention(f"{_MA}.self_attn", f"{_HF_MA}.self_attn"),
    *_attention(f"{_MA}.cross_attn_image", f"{_HF_MA}.cross_attn_image"),
    (f"{_MA}.linear1.{{p}}", f"{_HF_MA}.linear1.{{p}}"),
    (f"{_MA}.linear2.{{p}}", f"{_HF_MA}.linear2.{{p}}"),
    *[(f"{_MA}.norm{i}.{{p}}", f"{_HF_MA}.layer_norm{i}.{{p}}") for i in (1, 2, 3)],
    ("memory_attention.norm.{p}", "memory_attention.layer_norm.{p}"),
    # memory encoder (mask downsampler: conv, norm, act per stage, then a final 1x1 conv)
    ("memory_encoder.mask_downsampler.encoder.12.{p}", "memory_encoder.mask_downsampler.final_conv.{p}"),
    *[(f"memory_encoder.mask_downsampler.encoder.{3 * i}.{{p}}", f"memory_encoder.mask_downsampler.layers.{i}.conv.{{p}}") for i in range(4)],
    *[
        (f"memory_encoder.mask_downsampler.encoder.{3 * i + 1}.{{p}}", f"memory_encoder.mask_downsampler.layers.{i}.layer_norm.{{p}}")
        for i in range(4)
    ],
    ("memory_encoder.pix_feat_proj.{p}", "memory_encoder.feature_projection.{p}"),
    ("memory_encoder.out_proj.{p}", "memory_encoder.projection.{p}"),
    (f"{_FUSER}.gamma", f"{_HF_FUSER}.scale"),
    (f"{_FUSER}.dwconv.{{p}}", f"{_HF_FUSER}.depthwise_conv.{{p}}"),
    (f"{_FUSER}.norm.{{p}}", f"{_HF_FUSER}.layer_norm.{{p}}"),
    (f"{_FUSER}.pwconv1.{{p}}", f"{_HF_FUSER}.pointwise_conv1.{{p}}"),
    (f"{_FUSER}.pwconv2.{{p}}", f"{_HF_FUSER}.pointwise_conv2.{{p}}"),
]

_POINT_EMBED_META = "sam_prompt_encoder.point_embeddings.{}.weight"
_POINT_EMBED_HF = "prompt_encoder.point_embed.weight"
_SHARED_PE_HF = "shared_image_embedding.positional_embedding"


def _compile(template: str) -> re.Pattern:
    pattern = re.escape(template).replace(r"\{n\}", r"(?P<n>\d+)").replace(r"\{p\}", r"(?P<p>weight|bias)")
    return re.compile(pattern + "$")


_FORWARD = [(_compile(meta), hf) for meta, hf in RULES]
_BACKWARD = [(_compile(hf), meta) for meta, hf in RULES]


def _rename(key: str, table) -> str | None:
    for pattern, target in table:
        match = pattern.match(key)
        if match:
            return target.format(**match.groupdict())
    return None


def meta_to_hf(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    points = []
    for key, value in state_dict.items():
        if key.startswith("sam_prompt_encoder.point_embeddings."):
            points.append((int(key.split(".")[2]), value))
            continue
        new = _rename(key, _FORWARD)
        if new is None:
            raise KeyError(f"no Hugging Face name for Meta key {key!r}")
        out[new] = value
    if points:
        out[_POINT_EMBED_HF] = torch.cat([v for _, v in sorted(points, key=lambda p: p[0])])
    gaussian = out.get("prompt_encoder.shared_embedding.positional_embedding")
    if gaussian is not None:
        out[_SHARED_PE_HF] = gaussian.clone()
    return out


def hf_to_meta(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key == _SHARED_PE_HF:
            continue  # duplicate of the prompt encoder's matrix
        if key == _POINT_EMBED_HF:
            for i, row in enumerate(value):
                out[_POINT_EMBED_META.format(i)] = row[None].clone()
            continue
        new = _rename(key, _BACKWARD)
        if new is None:
            raise KeyError(f"no Meta name for Hugging Face key {key!r}")
        out[new] = value
    return out


def is_hf_state_dict(state_dict: dict) -> bool:
    return any(k.startswith(("vision_encoder.", "prompt_encoder.", "mask_decoder.")) for k in state_dict)


# ---------------------------------------------------------------------------- config.json


def hf_config_from(cfg: SAM2Config) -> dict:
    """A transformers `Sam2VideoConfig`-style config.json for `cfg`."""
    t = cfg.trunk
    dims = list(t.stage_dims)
    heads = [int(t.num_heads * t.head_mul**i) for i in range(len(t.stages))]
    grid = cfg.image_embedding_size  # S / 16: transformers needs the feature sizes spelled out
    return {
        "model_type": "sam2_video",
        "architectures": ["Sam2VideoModel"],
        "masklet_name": cfg.name,
        "image_size": cfg.image_size,
        "num_maskmem": cfg.num_maskmem,
        "max_object_pointers_in_encoder": cfg.max_obj_ptrs_in_encoder,
        "max_cond_frame_num": cfg.max_cond_frames_in_attn,
        "sigmoid_scale_for_mem_enc": cfg.sigmoid_scale_for_mem_enc,
        "sigmoid_bias_for_mem_enc": cfg.sigmoid_bias_for_mem_enc,
        "enable_occlusion_spatial_embedding": cfg.no_obj_embed_spatial,
        "enable_temporal_pos_encoding_for_object_pointers": cfg.add_tpos_enc_to_obj_ptrs,
        "memory_attention_num_layers": cfg.memory_attention_layers,
        "memory_attention_feed_forward_hidden_size": cfg.memory_attention_ffn_dim,
        "memory_attention_hidden_size": cfg.d_model,
        "memory_encoder_output_channels": cfg.mem_dim,
        "memory_attention_rope_feat_sizes": [grid, grid],
        "rope_parameters": {"rope_theta": cfg.rope_theta, "rope_type": "axial"},
        "mask_decoder_config": {
            "model_type": "sam2_video_mask_decoder",
            "hidden_size": cfg.d_model,
            "mlp_dim": cfg.decoder_mlp_dim,
            "dynamic_multimask_via_stability": cfg.dynamic_multimask_via_stability,
            "dynamic_multimask_stability_delta": cfg.dynamic_multimask_stability_delta,
            "dynamic_multimask_stability_thresh": cfg.dynamic_multimask_stability_thresh,
        },
        "prompt_encoder_config": {"model_type": "sam2_video_prompt_encoder", "hidden_size": cfg.d_model, "image_size": cfg.image_size},
        "vision_config": {
            "model_type": "sam2_vision_model",
            "backbone_channel_list": list(cfg.backbone_channel_list),
            "fpn_hidden_size": cfg.d_model,
            "fpn_top_down_levels": list(cfg.fpn_top_down_levels),
            "backbone_feature_sizes": [[4 * grid, 4 * grid], [2 * grid, 2 * grid], [grid, grid]],
            "num_feature_levels": 4 - cfg.scalp,
            "backbone_config": {
                "model_type": "sam2_hiera_det_model",
                "hidden_size": t.embed_dim,
                "num_attention_heads": t.num_heads,
                "blocks_per_stage": list(t.stages),
                "embed_dim_per_stage": dims,
                "num_attention_heads_per_stage": heads,
                "global_attention_blocks": list(t.global_att_blocks),
                "window_size_per_stage": list(t.window_spec),
                "window_positional_embedding_background_size": list(t.window_pos_embed_bkg_spatial_size),
                "num_query_pool_stages": t.q_pool,
                "query_stride": list(t.q_stride),
                "mlp_ratio": t.mlp_ratio,
                "image_size": [cfg.image_size, cfg.image_size],
            },
        },
    }


def config_from_hf(config_json: dict) -> SAM2Config:
    """The SAM2Config described by a transformers config.json (registered one if it matches)."""
    bb = config_json["vision_config"]["backbone_config"]
    trunk = HieraConfig(
        embed_dim=bb["hidden_size"],
        num_heads=bb.get("num_attention_heads", bb.get("num_attention_heads_per_stage", [1])[0]),
        stages=tuple(bb["blocks_per_stage"]),
        global_att_blocks=tuple(bb["global_attention_blocks"]),
        window_spec=tuple(bb["window_size_per_stage"]),
        window_pos_embed_bkg_spatial_size=tuple(bb["window_positional_embedding_background_size"]),
        q_pool=bb.get("num_query_pool_stages", 3),
        q_stride=tuple(bb.get("query_stride", (2, 2))),
        mlp_ratio=bb.get("mlp_ratio", 4.0),
    )
    v21 = bool(config_json.get("enable_occlusion_spatial_embedding", True))
    tpos = bool(config_json.get("enable_temporal_pos_encoding_for_object_pointers", v21))
    size = config_json.get("image_size", 1024)
    for cfg in MODEL_CONFIGS.values():
        if cfg.trunk == trunk and cfg.version == ("2.1" if v21 else "2.0") and cfg.image_size == size:
            return cfg
    return SAM2Config(
        name=config_json.get("masklet_name", "custom-hf"),
        trunk=trunk,
        image_size=size,
        num_maskmem=config_json.get("num_maskmem", 7),
        d_model=config_json.get("memory_attention_hidden_size", 256),
        decoder_mlp_dim=config_json.get("mask_decoder_config", {}).get("mlp_dim", 2048),
        mem_dim=config_json.get("memory_encoder_output_channels", 64),
        memory_attention_layers=config_json.get("memory_attention_num_layers", 4),
        memory_attention_ffn_dim=config_json.get("memory_attention_feed_forward_hidden_size", 2048),
        no_obj_embed_spatial=v21,
        add_tpos_enc_to_obj_ptrs=tpos,
        proj_tpos_enc_in_obj_ptrs=tpos,
        use_signed_tpos_enc_to_obj_ptrs=tpos,
    )
