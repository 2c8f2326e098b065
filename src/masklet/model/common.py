"""Small building blocks shared by several SAM 2 modules."""

from __future__ import annotations

from typing import cast

import torch
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
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = self.act(x)
        return torch.sigmoid(x) if self.sigmoid_output else x

    def _linears(self) -> list[nn.Linear]:
        return [cast(nn.Linear, layer) for layer in self.layers]

    def forward_float32(self, x: torch.Tensor) -> torch.Tensor:
        """`forward` computed in float32 whatever the weights' dtype (float32 output): for
        small heads whose outputs are compared with each other, where bfloat16's 8-bit
        mantissa would round close scores to ties (also under autocast)."""
        last = len(self.layers) - 1
        x = x.float()
        with torch.autocast(x.device.type, enabled=False):
            for i, layer in enumerate(self._linears()):
                bias = None if layer.bias is None else layer.bias.float()
                x = torch.nn.functional.linear(x, layer.weight.float(), bias)
                if i < last:
                    x = self.act(x)
        return torch.sigmoid(x) if self.sigmoid_output else x


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
