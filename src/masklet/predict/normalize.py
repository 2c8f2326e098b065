"""The network's input normalisation, and video frames made into network input, without torch
(the ONNX backend's video path runs where torch is not installed)."""

from __future__ import annotations

import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def preprocess_video_frame(frame: np.ndarray, resolution: int) -> np.ndarray:
    """A video frame [H, W, 3] uint8 RGB -> the network's input [3, S, S] float32.

    Frames are resized as SAM 2's video predictor resizes them (PIL bicubic on the 8-bit
    image, then scaled to [0, 1] in double precision and ImageNet-normalised), which differs
    slightly from the antialiased bilinear resize used for still images."""
    resized = Image.fromarray(np.ascontiguousarray(frame)).resize((resolution, resolution), Image.BICUBIC)
    x = (np.asarray(resized, dtype=np.float64) / 255.0).astype(np.float32).transpose(2, 0, 1)
    mean = np.asarray(IMAGENET_MEAN, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(IMAGENET_STD, dtype=np.float32).reshape(3, 1, 1)
    return np.ascontiguousarray((x - mean) / std)
