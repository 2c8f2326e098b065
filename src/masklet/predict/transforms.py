"""Still-image pre-processing and mask upscaling shared by the image predictor and the
automatic mask generator (video frames: `masklet.predict.normalize`). Torch tensors for a torch
model, numpy arrays for the ONNX Runtime backend (which runs without torch)."""

from __future__ import annotations

import numpy as np

from masklet.io.image import as_rgb
from masklet.predict import arrays
from masklet.predict.normalize import IMAGENET_MEAN, IMAGENET_STD


def image_to_array(image) -> np.ndarray:
    """An image as a float32 [3, H, W] array in [0, 1].

    Accepts what `masklet.io.image.as_rgb` does (a PIL image in any mode, a uint8 array [H, W, 3],
    [H, W, 4] or [H, W]: alpha is dropped, grey repeated to RGB) and float arrays already
    scaled to [0, 1].
    """
    pixels = as_rgb(image, unit_float=True)  # [H, W, 3]
    planes = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    return planes.astype(np.float32) / 255 if pixels.dtype == np.uint8 else planes.astype(np.float32)


def preprocess(images: list, resolution: int, use_torch: bool = True):
    """Images -> the network's input [B, 3, S, S]: squashed to S x S (antialiased bilinear),
    ImageNet-normalised; a float32 tensor, or a numpy array where not `use_torch`."""
    mean = np.asarray(IMAGENET_MEAN, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(IMAGENET_STD, dtype=np.float32).reshape(3, 1, 1)
    batch = []
    for image in images:
        x = image_to_array(image)
        if use_torch:
            import torch

            x = torch.from_numpy(x)
        x = arrays.resize(x, (resolution, resolution), antialias=True)
        batch.append((x - arrays.like(mean, x)) / arrays.like(std, x))
    return arrays.stack(batch)


def upscale_logits(low_res, size: tuple[int, int]):
    """Mask logits [B, C, h, w] -> [B, C, H, W] by bilinear interpolation (float32)."""
    return arrays.resize(low_res if arrays.is_numpy(low_res) else low_res.float(), size)
