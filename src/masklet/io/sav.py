"""SA-V annotation files: masklets stored as COCO RLE per annotated frame and object.

Besides the masks, a file holds per-masklet statistics that `write_sav_json` recomputes from
the masks, with definitions that reproduce the values in the SA-V example files: sizes are mean
pixel counts over the frames where the object is visible, buckets use COCO's 32² / 96² limits,
visibility changes are counted from the first appearance on, and an object never visible has
first appearance null. Descriptive keys (`video_duration`, `masklet_type`, ...) are kept as
read in `SavVideo.attributes` and written back unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from masklet.io._validate import as_mask_stack
from masklet.io.atomic import write_text_atomic
from masklet.io.errors import AnnotationError, checked_mask_size
from masklet.io.rle import rle_area, rle_decode, rle_encode

SAV_FRAME_STRIDE = 4  # SA-V annotates every 4th frame of its 24 fps videos (6 fps)

# Keys read into SavVideo's fields or recomputed on writing; every other key is an attribute.
_VIDEO_KEYS = ("video_id", "video_height", "video_width", "video_frame_count", "video_resolution",
               "masklet", "masklet_id", "masklet_num")
_STATISTIC_KEYS = ("masklet_size_abs", "masklet_size_rel", "masklet_size_bucket",
                   "masklet_first_appeared_frame", "masklet_frame_count", "masklet_visibility_changes")


@dataclass
class SavVideo:
    video_id: str
    height: int
    width: int
    frame_count: int  # frames of the video (annotations cover every 4th, 6 fps of 24)
    object_ids: list[int]
    masklet: list[list[dict]]  # [annotated frame][object] RLE
    attributes: dict = field(default_factory=dict)  # other keys of the file, written back as they are

    @classmethod
    def from_masks(cls, video_id: str, frames: Sequence[np.ndarray], object_ids: Sequence[int],
                   frame_count: int | None = None, attributes: dict | None = None) -> SavVideo:
        """A masklet from bool masks [objects, H, W] per annotated frame (`frame_count`, the
        video's frame count, defaults to the number of annotated frames)."""
        if not frames:
            raise ValueError("a masklet needs at least one annotated frame")
        stacks = [as_mask_stack(f, f"annotated frame {t}") for t, f in enumerate(frames)]
        ids = [int(i) for i in object_ids]
        shapes = {s.shape for s in stacks}
        if len(shapes) != 1 or stacks[0].shape[0] != len(ids):
            raise ValueError(
                f"every annotated frame needs masks [{len(ids)} objects, H, W] of one size, got shapes {sorted(shapes)}"
            )
        _, height, width = stacks[0].shape
        return cls(
            video_id=str(video_id), height=height, width=width,
            frame_count=len(stacks) if frame_count is None else int(frame_count),
            object_ids=ids, masklet=[[rle_encode(m) for m in stack] for stack in stacks],
            attributes=dict(attributes or {}),
        )

    @property
    def num_annotated_frames(self) -> int:
        return len(self.masklet)

    def masks(self, annotated_index: int) -> np.ndarray:
        """Bool masks [objects, H, W] of one annotated frame."""
        masks = [rle_decode(r) for r in self.masklet[annotated_index]]
        return np.stack(masks) if masks else np.zeros((0, self.height, self.width), bool)

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
        height, width = checked_mask_size(data["video_height"], data["video_width"], "video size")
        video = SavVideo(
            video_id=str(data["video_id"]),
            height=height,
            width=width,
            frame_count=int(data["video_frame_count"]),
            object_ids=[int(i) for i in data["masklet_id"]],
            masklet=masklet,
            attributes={k: v for k, v in data.items() if k not in _VIDEO_KEYS + _STATISTIC_KEYS},
        )
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, OverflowError) as e:
        raise AnnotationError(f"{path}: not an SA-V annotation file ({type(e).__name__}: {e})") from None
    if not isinstance(masklet, list) or any(not isinstance(frame, list) or len(frame) != len(video.object_ids) for frame in masklet):
        raise AnnotationError(f"{path}: 'masklet' must list, per annotated frame, one RLE per object")
    if any(not isinstance(r, dict) or r.get("size") != [video.height, video.width] for frame in masklet for r in frame):
        raise AnnotationError(f"{path}: some RLEs are not of the video's size {video.height}x{video.width}")
    return video


def _masklet_statistics(video: SavVideo) -> dict:
    areas = np.array([[rle_area(r) for r in frame] for frame in video.masklet], dtype=np.float64)  # [T, O]
    visible = areas > 0
    stats: dict[str, list] = {key: [] for key in _STATISTIC_KEYS}
    for obj in range(len(video.object_ids)):
        shown = np.flatnonzero(visible[:, obj])
        size = float(areas[shown, obj].mean()) if len(shown) else 0.0
        first = int(shown[0]) if len(shown) else None
        seen_from = visible[first:, obj] if first is not None else visible[:0, obj]
        stats["masklet_size_abs"].append(size)
        stats["masklet_size_rel"].append(size / (video.height * video.width))
        stats["masklet_size_bucket"].append("small" if size < 32**2 else "medium" if size < 96**2 else "large")
        stats["masklet_first_appeared_frame"].append(None if first is None else float(first))
        stats["masklet_frame_count"].append(len(video.masklet))
        stats["masklet_visibility_changes"].append(int(np.count_nonzero(seen_from[1:] != seen_from[:-1])))
    return stats


def write_sav_json(path: str | Path, video: SavVideo) -> Path:
    """Write a masklet as an SA-V annotation file (the inverse of `read_sav_json`); the
    per-masklet statistics are recomputed from the masks."""
    if any(len(frame) != len(video.object_ids) for frame in video.masklet):
        raise ValueError(f"video {video.video_id}: some annotated frames do not hold one RLE per object")
    if any(list(r["size"]) != [video.height, video.width] for frame in video.masklet for r in frame):
        raise ValueError(f"video {video.video_id}: some RLEs are not {video.height}x{video.width}")
    data = {
        "video_id": video.video_id,
        "video_frame_count": video.frame_count,
        "video_height": video.height,
        "video_width": video.width,
        "video_resolution": video.height * video.width,
        **video.attributes,
        "masklet": video.masklet,
        "masklet_id": list(video.object_ids),
        **_masklet_statistics(video),
        "masklet_num": len(video.object_ids),
    }
    return write_text_atomic(path, json.dumps(data))
