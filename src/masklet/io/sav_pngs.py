"""SA-V per-object PNGs: `<root>/<video>/<object:03d>/<frame:05d>.png`, one 0/255 grayscale
PNG per object and frame (the layout the SA-V evaluator and `masklet.eval` "sav" format read).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from masklet.io._validate import as_mask
from masklet.io.atomic import atomic_output
from masklet.io.davis import read_davis_png


def sav_png_path(root: str | Path, video_name: str, obj_id: int, frame_idx: int) -> Path:
    return Path(root) / video_name / f"{int(obj_id):03d}" / f"{int(frame_idx):05d}.png"


def write_sav_pngs(root: str | Path, video_name: str, frame_idx: int, masks: Mapping[int, np.ndarray]) -> list[Path]:
    """Write one frame's masks ({object id: bool [H, W]}) as per-object PNGs; returns the paths.

    Object ids and frame indices must be >= 0; the folders are created as needed.
    """
    if int(frame_idx) < 0:
        raise ValueError(f"frame_idx must be >= 0, got {frame_idx}")
    written = []
    for obj_id, mask in masks.items():
        if int(obj_id) < 0:
            raise ValueError(f"object ids must be >= 0 in the SA-V layout, got {obj_id}")
        pixels = as_mask(mask, f"object {obj_id}").astype(np.uint8) * 255
        path = sav_png_path(root, video_name, obj_id, frame_idx)
        with atomic_output(path) as tmp:
            Image.fromarray(pixels).save(tmp, format="PNG")
        written.append(path)
    return written


def read_sav_pngs(root: str | Path, video_name: str) -> dict[int, dict[int, np.ndarray]]:
    """`<root>/<video>/` -> {object id: {frame index: bool mask [H, W]}} (pixels > 0 are the
    object; indexed, grayscale or 1-bit PNGs). Folders and files whose names are not numbers are ignored."""
    folder = Path(root) / video_name
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such video folder (expected <root>/<video>/<object>/<frame>.png)")
    objects: dict[int, dict[int, np.ndarray]] = {}
    for obj_dir in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()):
        frames = {}
        for png in sorted(obj_dir.glob("*.png")):
            if png.stem.isdigit():
                frames[int(png.stem)] = read_davis_png(png) > 0
        objects[int(obj_dir.name)] = frames
    return objects
