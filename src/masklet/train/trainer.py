"""The training loop, with runs that survive being killed.

Every `checkpoint_every` steps the run directory gets, atomically (temporary name + rename):
  checkpoint.pt  model, optimizer, step, torch RNG state and the config: `resume` continues
                 from it exactly (the clips of step k are a pure function of (seed, k), so
                 the data position is the step; see masklet.train.data.ClipSampler)
  model.pt       the weights in Meta's format, loadable by `masklet.load_model`
  metrics.csv    one row per `log_every` steps (losses, learning rate, seconds per step)
  loss.png       the loss curve
A killed run therefore loses at most `checkpoint_every` steps.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import time
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm import tqdm

from masklet.checkpoint import build_model, load_model, save_model
from masklet.config import SAM2Config
from masklet.errors import ConfigError
from masklet.io.atomic import atomic_output, ensure_output_dir, write_text_atomic
from masklet.model.efficientnet import load_imagenet_trunk
from masklet.model.sam2 import SAM2Model
from masklet.train.config import TrainConfig
from masklet.train.optim import build_optimizer, freeze, lr_factor, set_learning_rates
from masklet.train.plot import write_loss_curve
from masklet.train.unroll import ClipUnroller

CHECKPOINT = "checkpoint.pt"
WEIGHTS = "model.pt"
METRICS = "metrics.csv"
LOSS_CURVE = "loss.png"
METRIC_FIELDS = ("step", "total", "focal", "dice", "iou", "score", "lr", "sec_per_step")


def sampler_from_config(config: TrainConfig):
    """The ClipSampler of the config's data sources (layouts detected from each path)."""
    from masklet.train.data import ClipSampler, open_training_source
    from masklet.train.pseudo_video import pseudo_video_from_settings

    sources = []
    for source in config.data:
        opened = open_training_source(source.path, source.include)
        sources.append(opened if source.pseudo_video is False else pseudo_video_from_settings(opened, source.pseudo_video))
    return ClipSampler(sources, [s.weight for s in config.data], seed=config.seed,
                       source_frames=[s.num_frames for s in config.data])


def initial_model(config: TrainConfig) -> SAM2Model:
    """The model training starts from: `config.model`'s weights when `config.pretrained` is
    true (fine-tuning), else a randomly initialised model of its config, whose trunk gets its
    ImageNet weights when `config.pretrained` is "imagenet"."""
    if config.pretrained is True:
        return load_model(config.model, device=config.device)
    model = build_model(config.model, device=config.device)
    if config.pretrained == "imagenet":
        load_imagenet_trunk(model)
    return model


class Trainer:
    """Trains `config.model` on `sampler`'s clips (a masklet.train.data.ClipSampler, or anything
    with its `batch(step, batch_size, num_frames, image_size, max_objects)`; default: the
    config's data sources)."""

    def __init__(self, config: TrainConfig, sampler=None, model: SAM2Model | None = None) -> None:
        self.config = config
        self.sampler = sampler if sampler is not None else sampler_from_config(config)
        self.output = ensure_output_dir(config.output)
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.model = model if model is not None else initial_model(config)
        if config.drop_path is not None:
            self.model.set_drop_path(config.drop_path)
        self.model.set_activation_checkpointing(config.activation_checkpointing)
        self.frozen = freeze(self.model, config.optim.freeze)
        self.encoder_frozen = not any(p.requires_grad for p in self.model.image_encoder.parameters())
        self.optimizer = build_optimizer(self.model, config.optim)
        # Trained from step optim.trunk_frozen_steps on (until then they get no gradients, so
        # AdamW neither moves nor decays them).
        self.trunk_parameters = [p for p in self.model.image_encoder.trunk.parameters() if p.requires_grad]
        self.unroller = ClipUnroller(self.model, config.prompts, config.loss)
        self.step = 0
        self.history: list[dict] = []

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "torch_rng": torch.get_rng_state(),
            "config": _plain(self.config.to_dict()),
            "masklet_config": _plain(self.model.config.to_dict()),
        }

    def resume(self) -> bool:
        """Continue from the run directory's checkpoint if there is one; True if resumed."""
        path = self.output / CHECKPOINT
        if not path.exists():
            return False
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise ValueError(f"{path}: not a readable training checkpoint ({str(e).splitlines()[0]})") from None
        ours, theirs = self.model.config, state.get("masklet_config")
        if _saved_config(theirs) != ours:
            other = theirs.get("name") if isinstance(theirs, dict) else None
            what = f"{other!r} with other settings" if other == ours.name else repr(other)
            raise ValueError(
                f"{path} holds a run of model config {what}, not {ours.name!r}; "
                "use another --output, or --no-resume to start over in it"
            )
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except Exception as e:
            raise ValueError(
                f"{path}: cannot resume from this checkpoint ({str(e).splitlines()[0]}); was it written "
                "with other frozen parts? Use another --output, or --no-resume to start over in it"
            ) from None
        self.step = int(state["step"])
        torch.set_rng_state(state["torch_rng"])
        self.history = [row for row in _read_metrics(self.output / METRICS) if row["step"] <= self.step]
        return True

    def save(self) -> None:
        buffer = io.BytesIO()
        torch.save(self.state_dict(), buffer)
        with atomic_output(self.output / CHECKPOINT) as tmp:
            tmp.write_bytes(buffer.getvalue())
        save_model(self.model, self.output / WEIGHTS)
        self._write_metrics()

    # ------------------------------------------------------------------ loop

    def autocast(self):
        cfg = self.config
        device_type = torch.device(cfg.device).type
        use = cfg.amp == "bf16" or (
            cfg.amp == "auto" and device_type == "cuda" and torch.cuda.is_bf16_supported()
        )
        if not use:
            return contextlib.nullcontext()
        return torch.autocast(device_type, dtype=torch.bfloat16)

    def train_step(self) -> dict[str, float]:
        cfg = self.config
        batch = self.sampler.batch(self.step, cfg.batch_size, cfg.num_frames, self.model.image_size, cfg.max_objects)
        generator = torch.Generator().manual_seed(cfg.seed * 1_000_003 + self.step)
        set_learning_rates(self.optimizer, lr_factor(self.step, cfg.steps, cfg.optim))
        for param in self.trunk_parameters:
            param.requires_grad_(self.step >= cfg.optim.trunk_frozen_steps)
        self.model.train()
        with self.autocast():
            losses = self.unroller.losses(batch, generator, encoder_grad=not self.encoder_frozen)
        self.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        if cfg.optim.grad_clip > 0:
            params = [p for p in self.model.parameters() if p.requires_grad]
            torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
        self.optimizer.step()
        self.step += 1
        return {k: float(v.detach()) for k, v in losses.items()}

    def fit(self, progress: bool = True, max_minutes: float | None = None, on_log: Callable[[dict], None] | None = None) -> Path:
        """Train until `config.steps` (or `max_minutes` of wall time, stopping at a checkpoint
        so the run can be resumed); returns the path of the Meta-format weights."""
        cfg = self.config
        start = time.perf_counter()
        window: list[dict[str, float]] = []
        window_start = time.perf_counter()
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not progress, desc="training", unit="step")
        while self.step < cfg.steps:
            window.append(self.train_step())
            bar.update(1)
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                row = {k: sum(w[k] for w in window) / len(window) for k in window[0]}
                row.update(step=self.step, lr=self.optimizer.param_groups[-1]["lr"],
                           sec_per_step=(time.perf_counter() - window_start) / len(window))
                self.history.append(row)
                bar.set_postfix(loss=f"{row['total']:.3f}")
                if on_log:
                    on_log(row)
                window, window_start = [], time.perf_counter()
            if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                self.save()
                if max_minutes is not None and time.perf_counter() - start > max_minutes * 60:
                    break
        bar.close()
        if self.step == cfg.steps and not (self.output / WEIGHTS).exists():
            self.save()
        return self.output / WEIGHTS

    def _write_metrics(self) -> None:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=METRIC_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.history)
        write_text_atomic(self.output / METRICS, text.getvalue())
        if self.history:
            write_loss_curve(self.output / LOSS_CURVE, self.history)


def _read_metrics(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as f:
        return [{k: (int(v) if k == "step" else float(v)) for k, v in row.items()} for row in csv.DictReader(f)]


def _saved_config(data) -> SAM2Config | None:
    """The model config a training checkpoint recorded (None when it is unreadable); read back
    rather than compared as dicts, so runs saved before trunks had a kind still resume."""
    try:
        return SAM2Config.from_dict(data)
    except ConfigError:
        return None


def _plain(value):
    """Dataclass dicts with tuples as lists: loadable with weights_only=True."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
