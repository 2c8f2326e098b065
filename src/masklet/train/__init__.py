"""Training and fine-tuning SAM 2 models (`masklet train`, `masklet finetune`)."""

from masklet.train.config import DataSourceConfig, TrainConfig
from masklet.train.data import ClipBatch, ClipSampler, open_training_source
from masklet.train.losses import LossWeights, step_losses
from masklet.train.optim import OptimConfig, build_optimizer, lr_factor
from masklet.train.pseudo_video import PseudoVideo
from masklet.train.trainer import Trainer
from masklet.train.unroll import ClipUnroller, PromptSimulation

__all__ = [
    "ClipBatch", "ClipSampler", "ClipUnroller", "DataSourceConfig", "LossWeights", "OptimConfig", "PromptSimulation",
    "PseudoVideo", "TrainConfig", "Trainer", "build_optimizer", "lr_factor", "open_training_source", "step_losses",
]
