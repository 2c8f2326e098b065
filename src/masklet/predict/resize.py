"""Every resize between user pixels and the network, one named function per rule.

The reference resizes still images and video frames differently, and Masklet keeps both for
parity:
  - `image_input`: still images (image predictor, automatic masks) are squashed to S x S by
    antialiased bilinear interpolation of the float image, as SAM 2's image transforms do;
  - `video_frame_input`: video frames (video predictor, stream tracker, and training, so what
    is trained is what is run) are resized by PIL bicubic on the 8-bit frame, as SAM 2's video
    loader does;
  - `upscale_logits`: low-res mask logits back to the user's image by bilinear interpolation.
Both inputs are then ImageNet-normalised (`normalize`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from masklet.backend.arrays import Array, ArrayOps
from masklet.backend.model import IMAGENET_MEAN, IMAGENET_STD
from masklet.io.image import as_rgb

_MEAN = np.asarray(IMAGENET_MEAN, dtype=np.float32).reshape(3, 1, 1)
_STD = np.asarray(IMAGENET_STD, dtype=np.float32).reshape(3, 1, 1)


def normalize(pixels: Array, ops: ArrayOps) -> Array:
    """RGB in [0, 1] [..., 3, H, W] -> ImageNet-normalised, as arrays of `ops`."""
    return (pixels - ops.asarray(_MEAN)) / ops.asarray(_STD)


def image_to_array(image) -> np.ndarray:
    """An image as a float32 [3, H, W] array in [0, 1].

    Accepts what `masklet.io.image.as_rgb` does (a PIL image in any mode, a uint8 array [H, W, 3],
    [H, W, 4] or [H, W]: alpha is dropped, grey repeated to RGB) and float arrays already
    scaled to [0, 1].
    """
    pixels = as_rgb(image, unit_float=True)  # [H, W, 3]
    planes = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    return planes.astype(np.float32) / 255 if pixels.dtype == np.uint8 else planes.astype(np.float32)


def image_input(images: list, resolution: int, ops: ArrayOps) -> Array:
    """Still images -> the network's input [B, 3, S, S] float32 (antialiased bilinear)."""
    batch = [ops.resize(ops.asarray(image_to_array(image)), (resolution, resolution), antialias=True) for image in images]
    return normalize(ops.stack(batch), ops)


def video_frame_pixels(frame: np.ndarray, resolution: int) -> np.ndarray:
    """A video frame [H, W, 3] uint8 RGB -> [3, S, S] float32 in [0, 1]: PIL bicubic on the
    8-bit frame, then scaled to [0, 1] in double precision."""
    resized = Image.fromarray(np.ascontiguousarray(frame)).resize((resolution, resolution), Image.Resampling.BICUBIC)
    return (np.asarray(resized, dtype=np.float64) / 255.0).astype(np.float32).transpose(2, 0, 1)


def video_frame_input(frame: np.ndarray, resolution: int) -> np.ndarray:
    """A video frame [H, W, 3] uint8 RGB -> the network's input [3, S, S] float32."""
    return np.ascontiguousarray((video_frame_pixels(frame, resolution) - _MEAN) / _STD)


def upscale_logits(low_res: Array, size: tuple[int, int], ops: ArrayOps) -> Array:
    """Mask logits [B, C, h, w] -> float32 [B, C, H, W] by bilinear interpolation."""
    return ops.resize(low_res, size)
