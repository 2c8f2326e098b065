"""Image pre-processing and mask post-processing shared by all predictors."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def image_to_tensor(image) -> torch.Tensor:
    """An RGB image as a float32 [3, H, W] tensor in [0, 1].

    Accepts a PIL image (any mode), an [H, W, 3] / [H, W, 4] / [H, W] uint8 array (0..255), or
    a float array already scaled to [0, 1]. Alpha is dropped, grey is repeated to RGB.
    """
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    if isinstance(image, torch.Tensor):
        raise TypeError(
            "pass images as a numpy array [H, W, 3] (RGB) or a PIL image, not a torch tensor"
        )
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a numpy array or a PIL image, got {type(image).__name__}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(
            f"expected an image of shape [H, W, 3] (RGB, HWC order), got {tuple(image.shape)}"
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"the image is empty: shape {tuple(image.shape)}")
    image = image[:, :, :3]
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    if image.dtype == np.uint8:
        return tensor.float().div(255)
    if np.issubdtype(image.dtype, np.floating):
        if image.size and (image.min() < 0 or image.max() > 1):
            raise ValueError(
                "a float image must hold values in [0, 1]; pass uint8 for 0..255 images"
            )
        return tensor.float()
    raise TypeError(f"unsupported image dtype {image.dtype}; use uint8 (0..255) or float in [0, 1]")


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


def preprocess_video_frame(frame: np.ndarray, resolution: int) -> torch.Tensor:
    """A video frame [H, W, 3] uint8 RGB -> the network's input [3, S, S].

    Frames are resized as SAM 2's video predictor resizes them (PIL bicubic on the 8-bit
    image, then scaled to [0, 1] in double precision and ImageNet-normalised), which differs
    slightly from the antialiased bilinear resize used for still images."""
    resized = Image.fromarray(np.ascontiguousarray(frame)).resize((resolution, resolution), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(resized, dtype=np.float64) / 255.0).permute(2, 0, 1).float()
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std
