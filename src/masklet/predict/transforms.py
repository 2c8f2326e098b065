"""Still-image pre-processing and mask upscaling shared by the image predictor and the
automatic mask generator (video frames: `masklet.predict.normalize`)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from masklet.io.image import as_rgb
from masklet.predict.normalize import IMAGENET_MEAN, IMAGENET_STD


def image_to_tensor(image) -> torch.Tensor:
    """An image as a float32 [3, H, W] tensor in [0, 1].

    Accepts what `masklet.io.image.as_rgb` does (a PIL image in any mode, a uint8 array [H, W, 3],
    [H, W, 4] or [H, W]: alpha is dropped, grey repeated to RGB) and float arrays already
    scaled to [0, 1].
    """
    pixels = as_rgb(image, unit_float=True)  # [H, W, 3]
    tensor = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
    return tensor.float().div(255) if pixels.dtype == np.uint8 else tensor.float()


def preprocess(images: list, resolution: int) -> torch.Tensor:
    """Images -> the network's input [B, 3, S, S]: squashed to S x S, ImageNet-normalised."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    batch = []
    for image in images:
        x = image_to_tensor(image)[None]
        x = F.interpolate(x, (resolution, resolution), mode="bilinear", align_corners=False, antialias=True)
        batch.append((x[0] - mean) / std)
    return torch.stack(batch)


def upscale_logits(low_res: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Mask logits [B, C, h, w] -> [B, C, H, W] by bilinear interpolation (float32)."""
    return F.interpolate(low_res.float(), size, mode="bilinear", align_corners=False)
