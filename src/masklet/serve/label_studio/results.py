"""Masklet's masks as Label Studio results: a `brushlabels` region per image mask (brush RLE),
a `videorectangle` region per tracked object (one keyframe per tracked frame, in percent)."""

from __future__ import annotations

import uuid

import numpy as np

from masklet.io.label_studio_rle import mask_to_rle
from masklet.serve.label_studio.config import ControlTag
from masklet.serve.label_studio.prompts import VideoObject

Box = tuple[float, float, float, float]  # x, y, width, height in percent of the frame


def region_id() -> str:
    return uuid.uuid4().hex[:10]


def brush_result(mask: np.ndarray, brush: ControlTag, label: str, score: float) -> dict:
    """A bool mask [H, W] as a brushlabels region of `brush`."""
    height, width = mask.shape
    return {
        "id": region_id(), "from_name": brush.name, "to_name": brush.to_name, "type": "brushlabels",
        "original_width": width, "original_height": height, "image_rotation": 0,
        "value": {"format": "rle", "rle": mask_to_rle(mask), "brushlabels": [label]},
        "score": score, "readonly": False,
    }


def mask_box(mask: np.ndarray) -> Box | None:
    """The box around a bool mask [H, W] in percent (pixel edges, not centres), or None if empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    height, width = mask.shape
    x0, y0 = 100 * cols[0] / width, 100 * rows[0] / height
    return float(x0), float(y0), float(100 * (cols[-1] + 1) / width - x0), float(100 * (rows[-1] + 1) / height - y0)


def video_rectangle_result(obj: VideoObject, tracked: dict[int, Box | None], frames_count: int, duration: float) -> dict:
    """The object's region with a keyframe for every tracked frame (0-based frame -> its box, or
    None where the object is absent). The keyframes drawn in Label Studio stay as they are;
    where the object vanishes the keyframe before is disabled (Label Studio then hides the box
    until the next enabled keyframe)."""
    value = obj.region["value"]
    drawn = {int(k["frame"]): k for k in value["sequence"]}
    fps = frames_count / duration if duration > 0 else 1.0
    sequence: list[dict] = []
    for frame in sorted(set(tracked) | {f - 1 for f in drawn}):
        box = tracked.get(frame)
        if frame + 1 in drawn:
            sequence.append(dict(drawn[frame + 1]))
        elif box is not None:
            x, y, w, h = box
            sequence.append({"frame": frame + 1, "x": x, "y": y, "width": w, "height": h, "rotation": 0,
                             "time": (frame + 1) / fps, "enabled": True})
        elif sequence and sequence[-1].get("enabled", True):
            sequence[-1]["enabled"] = False
    return {
        "id": obj.region.get("id") or region_id(), "from_name": obj.region["from_name"], "to_name": obj.to_name,
        "type": "videorectangle",
        "value": {**value, "framesCount": frames_count, "duration": duration, "sequence": sequence},
    }
