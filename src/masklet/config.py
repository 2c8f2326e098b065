"""Typed model configurations and the registry of named variants.

A `SAM2Config` fully describes a network: building a model needs nothing else. The eight
official variants are registered under the names Meta's checkpoints are published as
(`sam2-hiera-tiny` ... `sam2.1-hiera-large`); custom variants are plain `SAM2Config`s, built
directly or derived with `dataclasses.replace` / `SAM2Config.from_dict`. The image encoder's
trunk is a `HieraConfig` (SAM 2's own) or an `EfficientNetLite0Config` (an ImageNet-pretrained
convolutional trunk, Masklet's `masklet-lite`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

from masklet.errors import ConfigError

# Fields that count channels, blocks, heads or pixels: at least 1 and at most this, so a corrupt
# config is refused instead of building a network that cannot fit in memory.
_MAX_SIZE = 8192
_COUNTS = {
    "embed_dim", "num_heads", "stages", "window_spec", "window_pos_embed_bkg_spatial_size", "q_stride", "image_size",
    "backbone_stride", "d_model", "decoder_mlp_dim", "mem_dim", "num_maskmem", "memory_attention_layers",
    "memory_attention_ffn_dim", "max_obj_ptrs_in_encoder", "memory_temporal_stride_for_eval",
}


def _fits(value: object, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) if kind == "int" else math.isfinite(value)


def _field_problems(config: object) -> list[str]:
    """What is wrong with the fields' types and sizes (fields are annotated int, float, bool, str or tuple[...])."""
    problems = []
    for f in dataclasses.fields(config):  # type: ignore[arg-type]
        value, kind = getattr(config, f.name), str(f.type)
        if kind.startswith("tuple["):
            element = "float" if "float" in kind else "int"
            values = value if isinstance(value, tuple) else None
            ok = values is not None and all(_fits(v, element) for v in values)
        elif kind in ("int", "float", "bool", "str"):
            values, ok = (value,), _fits(value, kind)
        else:
            continue
        if not ok:
            problems.append(f"{f.name} must be {kind}, got {value!r}")
        elif f.name in _COUNTS and not all(1 <= v <= _MAX_SIZE for v in values):  # type: ignore[union-attr]
            problems.append(f"{f.name} must be between 1 and {_MAX_SIZE}, got {value!r}")
    return problems


@dataclass(frozen=True)
class HieraConfig:
    """The Hiera trunk (hierarchical ViT with windowed attention and q-pooling); the fields
    are `masklet.model.hiera.Hiera`'s keyword arguments."""

    embed_dim: int = 96  # channels of stage 1; doubled at each stage transition
    num_heads: int = 1  # heads of stage 1; doubled at each stage transition
    stages: tuple[int, ...] = (1, 2, 7, 2)  # blocks per stage
    global_att_blocks: tuple[int, ...] = (5, 7, 9)  # block indices with global attention
    window_spec: tuple[int, ...] = (8, 4, 14, 7)  # attention window size per stage
    window_pos_embed_bkg_spatial_size: tuple[int, int] = (7, 7)
    q_pool: int = 3  # number of stage transitions that pool queries
    q_stride: tuple[int, int] = (2, 2)
    dim_mul: float = 2.0
    head_mul: float = 2.0
    mlp_ratio: float = 4.0
    drop_path_rate: float = 0.0

    def __post_init__(self) -> None:
        problems = _field_problems(self)
        if problems:
            raise ConfigError("invalid HieraConfig: " + "; ".join(problems))

    @property
    def stage_dims(self) -> tuple[int, ...]:
        """Output channels of each stage, finest first."""
        return tuple(int(self.embed_dim * self.dim_mul**i) for i in range(len(self.stages)))


@dataclass(frozen=True)
class EfficientNetLite0Config:
    """The EfficientNet-Lite0 trunk (`masklet.model.efficientnet.EfficientNetLite0`). Its
    architecture is fixed by the ImageNet weights it starts from; only training settings vary."""

    # Channels of the four levels the FPN reads (strides 4, 8, 16, 32), finest first.
    stage_dims: ClassVar[tuple[int, ...]] = (24, 40, 112, 320)

    drop_path_rate: float = 0.0  # stochastic depth of the last residual block (rising from 0)

    def __post_init__(self) -> None:
        problems = _field_problems(self)
        if problems:
            raise ConfigError("invalid EfficientNetLite0Config: " + "; ".join(problems))


TrunkConfig = HieraConfig | EfficientNetLite0Config
# The "kind" a trunk is saved under in `SAM2Config.to_dict`; a saved trunk without one is Hiera.
TRUNK_KINDS: dict[str, type[TrunkConfig]] = {"hiera": HieraConfig, "efficientnet-lite0": EfficientNetLite0Config}


def trunk_kind(trunk: TrunkConfig) -> str:
    return next(kind for kind, config_type in TRUNK_KINDS.items() if isinstance(trunk, config_type))


@dataclass(frozen=True)
class SAM2Config:
    """Everything that determines the SAM 2 network's parameters and computation."""

    name: str = "custom"
    trunk: TrunkConfig = field(default_factory=HieraConfig)
    image_size: int = 1024
    backbone_stride: int = 16  # stride of the lowest-resolution feature map used by SAM
    d_model: int = 256  # FPN / prompt / decoder width
    decoder_mlp_dim: int = 2048  # hidden width of the mask decoder's two-way transformer MLPs
    fpn_top_down_levels: tuple[int, ...] = (2, 3)
    fpn_interp_model: str = "nearest"
    scalp: int = 1  # coarsest FPN levels dropped
    # memory
    mem_dim: int = 64
    num_maskmem: int = 7
    memory_attention_layers: int = 4
    memory_attention_ffn_dim: int = 2048
    rope_theta: float = 10000.0
    max_obj_ptrs_in_encoder: int = 16
    max_cond_frames_in_attn: int = -1
    memory_temporal_stride_for_eval: int = 1
    sigmoid_scale_for_mem_enc: float = 20.0
    sigmoid_bias_for_mem_enc: float = -10.0
    # SAM 2.1 additions (the three extra state-dict keys follow from these)
    no_obj_embed_spatial: bool = True
    add_tpos_enc_to_obj_ptrs: bool = True
    proj_tpos_enc_in_obj_ptrs: bool = True
    use_signed_tpos_enc_to_obj_ptrs: bool = True
    # mask decoder post-processing (the reference builder's defaults)
    dynamic_multimask_via_stability: bool = True
    dynamic_multimask_stability_delta: float = 0.05
    dynamic_multimask_stability_thresh: float = 0.98

    def __post_init__(self) -> None:
        t = self.trunk
        if not isinstance(t, (HieraConfig, EfficientNetLite0Config)):
            raise ConfigError(
                f"invalid SAM2Config: trunk must be a HieraConfig or an EfficientNetLite0Config, got {type(t).__name__}"
            )
        problems = _field_problems(self)
        if problems:
            raise ConfigError(f"invalid SAM2Config {self.name!r}: " + "; ".join(problems))
        if isinstance(t, HieraConfig):
            problems += _hiera_problems(t)
        if self.image_size % 32:
            problems.append(f"image_size must be a multiple of 32, got {self.image_size}")
        if self.image_size // self.backbone_stride != self.image_size // 4 // 4:
            problems.append("backbone_stride must be 16")
        if self.proj_tpos_enc_in_obj_ptrs and not self.add_tpos_enc_to_obj_ptrs:
            problems.append("proj_tpos_enc_in_obj_ptrs needs add_tpos_enc_to_obj_ptrs")
        if problems:
            raise ConfigError(f"invalid SAM2Config {self.name!r}: " + "; ".join(problems))

    @property
    def version(self) -> str:
        """'2.1' when the config carries the SAM 2.1 additions, else '2.0'."""
        return "2.1" if self.no_obj_embed_spatial else "2.0"

    @property
    def backbone_channel_list(self) -> tuple[int, ...]:
        """Trunk channels per level, coarsest first (the FPN's input order)."""
        return tuple(reversed(self.trunk.stage_dims))

    @property
    def image_embedding_size(self) -> int:
        return self.image_size // self.backbone_stride

    def to_dict(self) -> dict:
        """Plain values; the trunk's dict names its kind ("hiera", "efficientnet-lite0")."""
        data = dataclasses.asdict(self)
        data["trunk"]["kind"] = trunk_kind(self.trunk)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "SAM2Config":
        """The config `to_dict` wrote (lists become tuples; a trunk without a kind is Hiera, as
        configs saved before there were other trunks); a ConfigError names what does not fit."""
        if not isinstance(data, dict) or not isinstance(data.get("trunk", {}), dict):
            raise ConfigError(f"a SAM2Config is read from a dict with a 'trunk' dict, got {type(data).__name__}")
        trunk = {k: tuple(v) if isinstance(v, list) else v for k, v in data.get("trunk", {}).items()}
        data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "trunk"}
        kind = trunk.pop("kind", "hiera")
        if not isinstance(kind, str) or kind not in TRUNK_KINDS:
            raise ConfigError(f"unknown trunk kind {kind!r}; known: {', '.join(TRUNK_KINDS)}")
        trunk_type = TRUNK_KINDS[kind]
        for config_type, values in ((cls, data), (trunk_type, trunk)):
            unknown = sorted(set(values) - {f.name for f in dataclasses.fields(config_type)} - {"trunk"})  # type: ignore[arg-type]
            if unknown:
                raise ConfigError(f"unknown {config_type.__name__} fields {unknown}")
        return cls(trunk=trunk_type(**trunk), **data)


def _hiera_problems(t: HieraConfig) -> list[str]:
    """What in a Hiera trunk's fields does not fit together."""
    problems = []
    if len(t.window_spec) != len(t.stages):
        problems.append("trunk.window_spec needs one entry per stage")
    if any(b >= sum(t.stages) for b in t.global_att_blocks):
        problems.append("trunk.global_att_blocks indexes past the last block")
    if t.q_pool >= len(t.stages):
        problems.append("trunk.q_pool must be smaller than the number of stages")
    return problems


_TRUNKS = {
    "tiny": HieraConfig(embed_dim=96, num_heads=1, stages=(1, 2, 7, 2), global_att_blocks=(5, 7, 9)),
    "small": HieraConfig(embed_dim=96, num_heads=1, stages=(1, 2, 11, 2), global_att_blocks=(7, 10, 13)),
    "base-plus": HieraConfig(
        embed_dim=112, num_heads=2, stages=(2, 3, 16, 3), global_att_blocks=(12, 16, 20),
        window_pos_embed_bkg_spatial_size=(14, 14),
    ),
    "large": HieraConfig(
        embed_dim=144, num_heads=2, stages=(2, 6, 36, 4), global_att_blocks=(23, 33, 43),
        window_spec=(8, 4, 16, 8),
    ),
}

_V20 = dict(
    no_obj_embed_spatial=False,
    add_tpos_enc_to_obj_ptrs=False,
    proj_tpos_enc_in_obj_ptrs=False,
    use_signed_tpos_enc_to_obj_ptrs=False,
)

MODEL_CONFIGS: dict[str, SAM2Config] = {}
for _size, _trunk in _TRUNKS.items():
    MODEL_CONFIGS[f"sam2-hiera-{_size}"] = SAM2Config(name=f"sam2-hiera-{_size}", trunk=_trunk, **_V20)
    MODEL_CONFIGS[f"sam2.1-hiera-{_size}"] = SAM2Config(name=f"sam2.1-hiera-{_size}", trunk=_trunk)


# Masklet's own small model (trained with masklet.train, shipped inside the package): the same
# architecture at 256 px with narrow widths, so two CPU cores track at interactive speed.
MODEL_CONFIGS["masklet-nano"] = SAM2Config(
    name="masklet-nano",
    trunk=HieraConfig(embed_dim=32, num_heads=1, stages=(1, 2, 4, 1), global_att_blocks=(4, 6), window_spec=(8, 4, 8, 4)),
    image_size=256,
    d_model=128,
    decoder_mlp_dim=512,
    mem_dim=32,
    memory_attention_layers=2,
    memory_attention_ffn_dim=512,
)

# Masklet's CPU real-time model: SAM 2's design with an ImageNet-pretrained EfficientNet-Lite0
# trunk (trained with masklet.train from the ImageNet weights, configs/train/masklet-lite.yaml).
# 384 px and nano's 128-wide heads, chosen by speed: one object tracked at 854x480 costs 92 ms
# of one core of an AMX Xeon in bfloat16 and 121 ms in float32, 17 and 12 frames/s on two
# cores (512 px: 153 / 234 ms on one core; 384 px with 256-wide heads: 115 / 188 ms).
MODEL_CONFIGS["masklet-lite"] = SAM2Config(
    name="masklet-lite",
    trunk=EfficientNetLite0Config(),
    image_size=384,
    d_model=128,
    decoder_mlp_dim=1024,
    mem_dim=64,
    memory_attention_layers=2,
    memory_attention_ffn_dim=512,
)


def register_config(config: SAM2Config, overwrite: bool = False) -> None:
    """Make a custom config available to `get_config` / `load_model` by its name."""
    if config.name in MODEL_CONFIGS and not overwrite:
        raise ValueError(f"a config named {config.name!r} is already registered")
    MODEL_CONFIGS[config.name] = config


def list_configs() -> list[str]:
    return sorted(MODEL_CONFIGS)


def registered_name(name: str) -> str | None:
    """The registered config name that `name` stands for, or None. Besides the exact names,
    aliases work: any case, '_' for '-', 'base+' for 'base-plus', and an official size
    alone or after a version: 'tiny' (= SAM 2.1), '2.1-small', '2.0-large',
    'sam2.1_hiera_base+'. `get_config` and `masklet.load_model` both resolve names here."""
    if name in MODEL_CONFIGS:
        return name
    key = name.strip().lower().replace("_", "-").replace("base+", "base-plus")
    if key in MODEL_CONFIGS:
        return key
    version, size = key.split("-", 1) if key.startswith(("2.0-", "2.1-")) else ("2.1", key)
    prefix = "sam2-hiera-" if version == "2.0" else "sam2.1-hiera-"
    return prefix + size if prefix + size in MODEL_CONFIGS else None


def get_config(name: str) -> SAM2Config:
    """The registered config `name` or one of its aliases (see `registered_name`)."""
    key = registered_name(name)
    if key is None:
        raise KeyError(f"unknown model config {name!r}; known: {', '.join(list_configs())}")
    return MODEL_CONFIGS[key]
