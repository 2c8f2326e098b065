"""Prompts from Label Studio regions: smart keypoints and rectangles on an image, rectangles on
video frames. Label Studio gives positions in percent of the image; a region is a result dict
({"type", "from_name", "to_name", "value", ...}) from an interactive request's context or from
an annotation."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from masklet.serve.errors import BadRequest

IMAGE_PROMPT_TYPES = ("keypointlabels", "rectanglelabels")
VIDEO_PROMPT_TYPE = "videorectangle"


@dataclass
class ImagePrompt:
    """The clicks and box given for one image tag, in percent of the image."""

    to_name: str
    points: list[tuple[float, float]] = field(default_factory=list)
    point_labels: list[int] = field(default_factory=list)  # 1 positive, 0 negative
    box: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2
    label: str | None = None  # the first prompt's label

    def in_pixels(self, width: int, height: int) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """(points [N, 2] x, y, labels [N], box [4] x1, y1, x2, y2) in pixels of a width x height image."""
        scale = np.array([width, height], np.float32) / 100
        points = np.array(self.points, np.float32) * scale if self.points else None
        labels = np.array(self.point_labels, np.int32) if self.points else None
        box = np.array(self.box, np.float32) * np.tile(scale, 2) if self.box is not None else None
        return points, labels, box


@dataclass
class VideoObject:
    """A <VideoRectangle> region: its enabled keyframes are box prompts (0-based frame, x1, y1,
    x2, y2 in percent); `region` is the region as Label Studio sent it."""

    region: dict
    keyframes: list[tuple[int, tuple[float, float, float, float]]]

    @property
    def to_name(self) -> str:
        return self.region["to_name"]


def _number(value: dict, key: str, region: dict) -> float:
    try:
        number = float(value[key])
    except (KeyError, TypeError, ValueError):
        raise BadRequest(f"a {region.get('type')} region has no number {key!r} in its value: {value!r}") from None
    if not np.isfinite(number):
        raise BadRequest(f"a {region.get('type')} region's {key!r} is {number}")
    return number


def _box(value: dict, region: dict) -> tuple[float, float, float, float]:
    if _number(value, "rotation", region) if "rotation" in value else 0.0:
        raise BadRequest("a rotated rectangle cannot be a box prompt: draw it without rotation")
    x, y = _number(value, "x", region), _number(value, "y", region)
    return x, y, x + _number(value, "width", region), y + _number(value, "height", region)


def _regions(regions) -> list[dict]:
    if not isinstance(regions, list) or not all(isinstance(r, dict) for r in regions):
        raise BadRequest("the regions (context 'result' or an annotation's 'result') must be a list of objects")
    for region in regions:
        if not isinstance(region.get("value"), dict) or not isinstance(region.get("to_name"), str):
            raise BadRequest(f"a region needs a 'value' object and a 'to_name': {region!r}")
    return regions


def image_prompts(regions) -> dict[str, ImagePrompt]:
    """The keypoint and rectangle regions grouped by image tag: every click of a tag, and its
    last rectangle as the box (Masklet segments one object per image tag and request)."""
    prompts: dict[str, ImagePrompt] = {}
    for region in _regions(regions):
        kind = region.get("type")
        if kind not in IMAGE_PROMPT_TYPES:
            continue
        value = region["value"]
        prompt = prompts.setdefault(region["to_name"], ImagePrompt(region["to_name"]))
        labels = value.get(kind) or []
        if prompt.label is None and labels:
            prompt.label = str(labels[0])
        if kind == "keypointlabels":
            prompt.points.append((_number(value, "x", region), _number(value, "y", region)))
            prompt.point_labels.append(0 if region.get("is_positive") is False else 1)
        else:
            prompt.box = _box(value, region)
    return prompts


def video_objects(regions) -> list[VideoObject]:
    """The <VideoRectangle> regions with at least one enabled keyframe (frames counted from 1
    in Label Studio, from 0 here)."""
    objects = []
    for region in _regions(regions):
        if region.get("type") != VIDEO_PROMPT_TYPE:
            continue
        sequence = region["value"].get("sequence")
        if not isinstance(sequence, list) or not all(isinstance(k, dict) for k in sequence):
            raise BadRequest(f"a videorectangle region needs a 'sequence' list of keyframes: {region['value']!r}")
        frames = [_number(k, "frame", region) for k in sequence]
        if any(frame < 1 or frame != int(frame) for frame in frames):
            raise BadRequest(f"videorectangle keyframes are on whole frames counted from 1, got {frames}")
        keyframes = [(int(frame) - 1, _box(k, region)) for frame, k in zip(frames, sequence) if k.get("enabled", True)]
        if keyframes:
            objects.append(VideoObject(region, keyframes))
    return objects
