"""Indexed (palette) PNGs as the DAVIS benchmark stores label maps: pixel value = object id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def davis_palette() -> list[int]:
    """The 256-colour palette of DAVIS / PASCAL VOC annotations (0 black, 1 dark red,
    2 dark green, ...): bit k of each of the three low bit-triples of an index lights bit
    7 - k of the red, green and blue channels."""
    palette = []
    for index in range(256):
        rgb = [0, 0, 0]
        value = index
        for bit in range(8):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << (7 - bit)
            value >>= 3
        palette.extend(rgb)
    return palette


def write_label_png(path: str | Path, labels: np.ndarray) -> Path:
    """Save an [H, W] label map (values 0..255) as an indexed PNG with the DAVIS palette."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"a label map must be [H, W], got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ValueError(f"label values must be in 0..255, got {labels.min()}..{labels.max()}")
    height, width = labels.shape
    image = Image.frombytes("P", (width, height), np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    image.putpalette(davis_palette())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
