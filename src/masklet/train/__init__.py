"""Training and fine-tuning SAM 2 models (`masklet train`, `masklet finetune`)."""

from masklet.train.config import DataSourceConfig, TrainConfig
from masklet.train.losses import LossWeights, step_losses
from masklet.train.optim import OptimConfig, build_optimizer, lr_factor
from masklet.train.trainer import Trainer
from masklet.train.unroll import ClipUnroller, PromptSimulation

__all__ = [
    "ClipUnroller", "DataSourceConfig", "LossWeights", "OptimConfig", "PromptSimulation",
    "TrainConfig", "Trainer", "build_optimizer", "lr_factor", "step_losses",
]
