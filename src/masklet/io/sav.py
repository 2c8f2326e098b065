"""SA-V annotation files: masklets stored as COCO RLE per annotated frame and object."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from masklet.io.rle import rle_decode


@dataclass
class SavVideo:
    video_id: str
    height: int
    width: int
    frame_count: int  # frames of the video (annotations cover every 4th, 6 fps of 24)
    object_ids: list[int]
    masklet: list[list[dict]]  # [annotated frame][object] RLE

    @property
    def num_annotated_frames(self) -> int:
        return len(self.masklet)

    def masks(self, annotated_index: int) -> np.ndarray:
        """Bool masks [objects, H, W] of one annotated frame."""
        return np.stack([rle_decode(r) for r in self.masklet[annotated_index]])

    def first_appearance(self) -> dict[int, int]:
        """Object id -> the annotated frame where its mask is first non-empty."""
        first: dict[int, int] = {}
        for t, frame in enumerate(self.masklet):
            for obj, rle in zip(self.object_ids, frame):
                if obj not in first and rle_decode(rle).any():
                    first[obj] = t
        return first


def read_sav_json(path: str | Path) -> SavVideo:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        masklet = data["masklet"]
        video = SavVideo(
            video_id=str(data["video_id"]),
            height=int(data["video_height"]),
            width=int(data["video_width"]),
            frame_count=int(data["video_frame_count"]),
            object_ids=[int(i) for i in data["masklet_id"]],
            masklet=masklet,
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: not an SA-V annotation file ({e})") from None
    if any(len(frame) != len(video.object_ids) for frame in masklet):
        raise ValueError(f"{path}: some annotated frames do not hold one RLE per object")
    return video
