"""Small building blocks shared by several SAM 2 modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    """A stack of `num_layers` linear layers with an activation between them.

    The parameters live in `layers.{i}` so that the state-dict matches the official layout.
    """

    def __init__(
        self,
        *,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        num_layers: int,
        activation: type[nn.Module] = nn.ReLU,
        sigmoid_output: bool = False,
    ) -> None:
        super().__init__()
        dims_in = [input_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(dims_in, dims_out))
        self.act = activation()
        self.sigmoid_output = sigmoid_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._stack(x, lambda layer, h: layer(h))

    def forward_float32(self, x: torch.Tensor) -> torch.Tensor:
        """`forward` computed in float32 whatever the weights' dtype (float32 output): for
        small heads whose outputs are compared with each other, where bfloat16's 8-bit
        mantissa would round close scores to ties (also under autocast)."""
        with torch.autocast(x.device.type, enabled=False):
            return self._stack(x.float(), _linear_in_float32)

    def _stack(self, x: torch.Tensor, linear: Callable[[nn.Linear, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """The layers applied in turn by `linear(layer, x)`, the activation between them."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = linear(cast(nn.Linear, layer), x)
            if i < last:
                x = self.act(x)
        return torch.sigmoid(x) if self.sigmoid_output else x


def _linear_in_float32(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    bias = None if layer.bias is None else layer.bias.float()
    return F.linear(x, layer.weight.float(), bias)


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of a [B, C, H, W] map."""

    eps = 1e-6

    def __init__(self, *, num_channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class DropPath(nn.Module):
    """Stochastic depth: drops the whole residual branch of a sample during training with
    probability `drop_prob` (0: the identity)."""

    def __init__(self, *, drop_prob: float) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep
