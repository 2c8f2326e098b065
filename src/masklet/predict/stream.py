"""Tracking on live streams: frames arrive one at a time and are never revisited.

`StreamTracker` takes frames from any source (a camera, an RTSP stream opened with
`masklet.io.open_video`, a generator) through `track(frame)`. Prompts apply to the current
frame, for new or existing objects, at any time; objects can be removed. Its session forgets
what SAM 2's memory can no longer attend to (`ForgetUnreachable`): each object keeps its
conditioning (prompted) frames, the memories of its last `num_maskmem - 1` frames and the
pointers of its last `max_obj_ptrs_in_encoder - 1` frames, so memory use is flat over
unbounded streams.

On the same frames and prompts it gives the masks `VideoPredictor` gives when propagating
forward (the offline predictor bounds object pointers by the video's length, a stream by
`max_obj_ptrs_in_encoder`; they agree once a video has at least that many frames).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np

from masklet.backend.model import require_model
from masklet.io.video import as_rgb_frame
from masklet.predict.memory_bank import MemoryOptions
from masklet.predict.resize import video_frame_input
from masklet.predict.results import FrameResult
from masklet.predict.session import TrackingOptions, TrackingSession
from masklet.predict.tracking import FrameFeatures, TrackingEngine


@dataclass(frozen=True)
class EncodedFrame:
    """A frame with its image-encoder features (`encode_frame`). Every `StreamTracker` of the
    model that encoded it can `track` it, so a frame shown to several trackers (one per
    annotation, per user, ...) goes through the image encoder once."""

    pixels: np.ndarray  # [H, W, 3] uint8 RGB, read-only
    features: FrameFeatures
    model: Any = field(repr=False, compare=False)


def encode_frame(model, frame) -> EncodedFrame:
    """Run the image encoder of `model` on `frame` (as `StreamTracker.track` takes it)."""
    model = require_model(model)
    pixels = as_rgb_frame(frame, "the frame")
    engine = TrackingEngine(model)
    with engine.arrays.inference():
        features = engine.frame_features(video_frame_input(pixels, model.image_size))
    return EncodedFrame(pixels, features, model)


class StreamTracker:
    """Tracks prompted objects through frames pushed one at a time.

        tracker = masklet.StreamTracker(model)
        for frame in camera:                       # HxWx3 uint8 RGB frames
            result = tracker.track(frame)          # masks of every object on this frame
            if user_clicked:
                result = tracker.add_new_points_or_box(obj_id=1, points=[[x, y]], labels=[1])

    Arguments are those of `VideoPredictor` (`fill_hole_area`, `non_overlap_masks`,
    `add_all_frames_to_correct_as_cond`, `mask_threshold`, `attention_batch_size`, `memory`). With
    `add_all_frames_to_correct_as_cond=True` a correction click on an object already tracked
    is remembered for good (as a conditioning frame) instead of for the next few frames.
    """

    def __init__(
        self, model, fill_hole_area: int = 8, non_overlap_masks: bool = False,
        add_all_frames_to_correct_as_cond: bool = False, mask_threshold: float = 0.0,
        attention_batch_size: int | str | None = "auto", memory: str | MemoryOptions = "exact",
    ) -> None:
        self.model = require_model(model).eval()
        self.options = TrackingOptions(
            fill_hole_area=fill_hole_area, non_overlap_masks=non_overlap_masks,
            add_all_frames_to_correct_as_cond=add_all_frames_to_correct_as_cond,
            mask_threshold=mask_threshold, attention_batch_size=attention_batch_size,
            memory=MemoryOptions.of(memory),
        )
        self.reset()

    def reset(self) -> None:
        """Forget every object and frame; the next frame pushed is frame 0."""
        self.session = TrackingSession.for_stream(self.model, self.options)

    @property
    def obj_ids(self) -> list:
        return self.session.obj_ids

    @property
    def frame_idx(self) -> int:
        """The current frame's index (-1 before the first frame)."""
        return self.session.frames.current

    def track(self, frame) -> FrameResult:
        """Take the next frame ([H, W, 3] uint8 RGB array, grey or RGBA array, PIL image, image
        path, or an `EncodedFrame` of this tracker's model) and return every object's mask on it."""
        frames = self.session.frames
        features = None
        if isinstance(frame, EncodedFrame):
            if frame.model is not self.model:
                raise ValueError("the frame was encoded by another model: encode it with encode_frame(tracker.model, frame)")
            frame, features = frame.pixels, frame.features
        array = frames.next_frame(frame)
        self.session.commit_prompts()
        return self.session.track(frames.push(array, features))

    def run(self, frames: Iterable, prompts: dict | None = None) -> Iterator[FrameResult]:
        """Track through an iterable of frames; `prompts` maps a frame index to a list of
        keyword-argument dicts for `add_new_points_or_box` (or, with a "mask" key,
        `add_new_mask`), applied when that frame arrives. Yields each frame's final result."""
        prompts = prompts or {}
        for frame in frames:
            result = self.track(frame)
            for kwargs in prompts.get(self.frame_idx, []):
                kwargs = dict(kwargs)
                result = self.add_new_mask(**kwargs) if "mask" in kwargs else self.add_new_points_or_box(**kwargs)
            yield result

    def add_new_points_or_box(
        self, obj_id, points=None, labels=None, clear_old_points: bool = True, normalize_coords: bool = True, box=None
    ) -> FrameResult:
        """Clicks and/or a box for `obj_id` on the current frame (a new object, or a
        correction of a tracked one). Arguments as `VideoPredictor.add_new_points_or_box`;
        returns every object's `FrameResult` on the frame, as `track` does (the reference has no
        stream tracker; `VideoPredictor` returns the reference's tuples)."""
        return self.session.add_points_or_box(
            self.frame_idx, obj_id, points=points, labels=labels, clear_old_points=clear_old_points,
            normalize_coords=normalize_coords, box=box,
        )

    def add_new_mask(self, obj_id, mask) -> FrameResult:
        """A binary mask [H, W] for `obj_id` on the current frame, taken as its mask there."""
        return self.session.add_mask(self.frame_idx, obj_id, mask)

    def remove_object(self, obj_id, strict: bool = False) -> list:
        """Stop tracking an object. Returns the remaining ids."""
        self.session.remove_object(obj_id, strict)
        return self.obj_ids

    def memory_stats(self) -> dict:
        """What the state holds: {"tensors": count, "bytes": total, "frames": per-object
        count of remembered frames}."""
        return self.session.memory_stats()
