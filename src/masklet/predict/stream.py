"""Tracking on live streams: frames arrive one at a time and are never revisited.

`StreamTracker` takes frames from any source (a camera, an RTSP stream opened with
`masklet.io.open_video`, a generator) through `track(frame)`. Prompts apply to the current
frame, for new or existing objects, at any time; objects can be removed. The state keeps
only what SAM 2's memory can still attend to: each object's conditioning (prompted) frames,
the memories of its last `num_maskmem - 1` frames and the pointers of its last
`max_obj_ptrs_in_encoder - 1` frames. Memory use is therefore flat over unbounded streams.

On the same frames and prompts it gives the masks `VideoPredictor` gives when propagating
forward (the offline predictor bounds object pointers by the video's length, a stream by
`max_obj_ptrs_in_encoder`; they agree once a video has at least that many frames).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterable, Iterator

import torch

from masklet.io.video import as_rgb_frame
from masklet.model.sam2 import NO_OBJECT_LOGIT, SAM2Model
from masklet.predict.memory_bank import FrameOutput, select_memory
from masklet.predict.results import FrameResult
from masklet.predict.tracking import FrameFeatures, TrackingEngine
from masklet.predict.transforms import preprocess_video_frame
from masklet.predict.video import TrackedObject, commit_prompts, mask_prompt, non_overlapping, prompt_points, resize_logits


class StreamTracker:
    """Tracks prompted objects through frames pushed one at a time.

        tracker = masklet.StreamTracker(model)
        for frame in camera:                       # HxWx3 uint8 RGB frames
            result = tracker.track(frame)          # masks of every object on this frame
            if user_clicked:
                result = tracker.add_new_points_or_box(obj_id=1, points=[[x, y]], labels=[1])

    Arguments are those of `VideoPredictor` (`fill_hole_area`, `non_overlap_masks`,
    `add_all_frames_to_correct_as_cond`, `mask_threshold`, `attention_batch_size`). With
    `add_all_frames_to_correct_as_cond=True` a correction click on an object already tracked
    is remembered for good (as a conditioning frame) instead of for the next few frames.
    """

    def __init__(
        self,
        model: SAM2Model,
        fill_hole_area: int = 8,
        non_overlap_masks: bool = False,
        add_all_frames_to_correct_as_cond: bool = False,
        mask_threshold: float = 0.0,
        attention_batch_size: int | str | None = "auto",
    ) -> None:
        if not isinstance(model, SAM2Model):
            raise TypeError(
                f"model must be a masklet SAM2Model, got {type(model).__name__}; create one with masklet.load_model(...)"
            )
        self.model = model.eval()
        self.engine = TrackingEngine(model, fill_hole_area, attention_batch_size=attention_batch_size)
        self.non_overlap_masks = non_overlap_masks
        self.add_all_frames_to_correct_as_cond = add_all_frames_to_correct_as_cond
        self.mask_threshold = mask_threshold
        self.reset()

    def reset(self) -> None:
        """Forget every object and frame; the next frame pushed is frame 0."""
        self.objects: "OrderedDict[object, TrackedObject]" = OrderedDict()
        self.frame_idx = -1
        self.frame_size: tuple[int, int] | None = None  # (H, W) of the stream
        self._features: FrameFeatures | None = None

    @property
    def obj_ids(self) -> list:
        return list(self.objects)

    # ------------------------------------------------------------------ frames

    @torch.inference_mode()
    def track(self, frame) -> FrameResult:
        """Take the next frame ([H, W, 3] uint8 RGB array, grey or RGBA array, PIL image or
        image path) and return every object's mask on it."""
        array = as_rgb_frame(frame, f"frame {self.frame_idx + 1}")
        size = tuple(array.shape[:2])
        if self.frame_size is not None and size != self.frame_size:
            raise ValueError(f"frame {self.frame_idx + 1} is {size[1]}x{size[0]}, the stream's frames are {self.frame_size[1]}x{self.frame_size[0]}")
        self._commit_prompts()
        self.frame_idx += 1
        self.frame_size = size
        self._features = self.engine.frame_features(preprocess_video_frame(array, self.model.image_size))
        t = self.frame_idx
        if self.objects:
            selections = [select_memory(obj.memory, t, False, None, self.model.config) for obj in self.objects.values()]
            for obj, out in zip(self.objects.values(), self.engine.track(self._features, selections, None)):
                obj.memory.non_cond[t] = out
                obj.tracked[t] = False
        self._forget_unreachable()
        return self._result()

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

    # ------------------------------------------------------------------ prompts

    @torch.inference_mode()
    def add_new_points_or_box(
        self, obj_id, points=None, labels=None, clear_old_points: bool = True, normalize_coords: bool = True, box=None
    ) -> FrameResult:
        """Clicks and/or a box for `obj_id` on the current frame (a new object, or a
        correction of a tracked one). Arguments as `VideoPredictor.add_new_points_or_box`."""
        self._require_frame()
        t = self.frame_idx
        h, w = self.frame_size
        coords, point_labels = prompt_points(points, labels, box, clear_old_points, normalize_coords, w, h, self.model.image_size)
        obj = self.objects.setdefault(obj_id, TrackedObject())
        if not clear_old_points and t in obj.points:
            old_coords, old_labels = obj.points[t]
            coords, point_labels = torch.cat([old_coords, coords], 1), torch.cat([old_labels, point_labels], 1)
        obj.points[t] = (coords, point_labels)
        obj.masks.pop(t, None)
        storage = self._storage(obj)
        previous = obj.latest(t, storage)
        prev_logits = None
        if previous is not None and previous.pred_masks is not None:
            prev_logits = previous.pred_masks.to(self.model.device).clamp(-32.0, 32.0)
        selection = None if t not in obj.tracked else select_memory(obj.memory, t, False, None, self.model.config)
        device = self.model.device
        (out,) = self.engine.track(
            self._features, [selection], None, coords.to(device), point_labels.to(device),
            prev_mask_logits=prev_logits, encode_memory=False,
        )
        obj.pending[storage][t] = out
        return self._result(storage)

    @torch.inference_mode()
    def add_new_mask(self, obj_id, mask) -> FrameResult:
        """A binary mask [H, W] for `obj_id` on the current frame, taken as its mask there."""
        self._require_frame()
        masks = mask_prompt(mask, self.model.image_size)
        obj = self.objects.setdefault(obj_id, TrackedObject())
        obj.masks[self.frame_idx] = masks
        obj.points.pop(self.frame_idx, None)
        storage = self._storage(obj)
        (out,) = self.engine.use_masks(self._features, masks.to(self.model.device))
        obj.pending[storage][self.frame_idx] = out
        return self._result(storage)

    def remove_object(self, obj_id, strict: bool = False) -> list:
        """Stop tracking an object. Returns the remaining ids."""
        if obj_id not in self.objects:
            if strict:
                raise KeyError(f"unknown object id {obj_id!r}; known ids: {self.obj_ids}")
            return self.obj_ids
        del self.objects[obj_id]
        return self.obj_ids

    # ------------------------------------------------------------------ memory

    def memory_stats(self) -> dict:
        """What the state holds: {"tensors": count, "bytes": total, "frames": per-object
        count of remembered frames}."""
        tensors, nbytes, frames = 0, 0, {}
        for obj_id, obj in self.objects.items():
            outputs = [*obj.memory.cond.values(), *obj.memory.non_cond.values()]
            outputs += [*obj.pending["cond"].values(), *obj.pending["non_cond"].values()]
            frames[obj_id] = len(obj.memory.cond) + len(obj.memory.non_cond)
            for out in outputs:
                held = [x for x in (out.pred_masks, out.obj_ptr, out.object_score_logits, out.maskmem_features) if x is not None]
                tensors += len(held)
                nbytes += out.nbytes()
            tensors += sum(len(p) for p in obj.points.values()) + len(obj.masks)
        return {"tensors": tensors, "bytes": nbytes, "frames": frames}

    def _forget_unreachable(self) -> None:
        """Drop what no future frame can attend to: memories older than the spatial window,
        pointers older than the pointer window, masks of past frames, prompts and tracking
        marks of past frames (prompted outputs stay as conditioning memories)."""
        cfg = self.model.config
        t = self.frame_idx
        spatial_reach = cfg.memory_temporal_stride_for_eval * (cfg.num_maskmem - 2) + 2
        pointer_reach = cfg.max_obj_ptrs_in_encoder - 1
        for obj in self.objects.values():
            for frame in [f for f in obj.memory.non_cond if f < t - max(spatial_reach, pointer_reach) + 1]:
                del obj.memory.non_cond[frame]
            for frame, out in obj.memory.non_cond.items():
                if frame <= t - spatial_reach:
                    out.maskmem_features = None
                if frame < t:
                    out.pred_masks = None
            for frame, out in obj.memory.cond.items():
                if frame < t:
                    out.pred_masks = None
            for prompts in (obj.points, obj.masks, obj.tracked):
                for frame in [f for f in prompts if f < t]:
                    del prompts[frame]

    def _commit_prompts(self) -> None:
        """Encode the memories of the current frame's prompts before moving on."""
        commit_prompts(self.engine, list(self.objects.values()), lambda frame_idx: self._features)

    # ------------------------------------------------------------------ helpers

    def _storage(self, obj: TrackedObject) -> str:
        first_look = self.frame_idx not in obj.tracked
        return "cond" if first_look or self.add_all_frames_to_correct_as_cond else "non_cond"

    def _require_frame(self) -> None:
        if self.frame_idx < 0:
            raise RuntimeError("no frame yet: call track(frame) first, then prompt on that frame")

    def _result(self, storage: str = "non_cond") -> FrameResult:
        t = self.frame_idx
        h, w = self.frame_size
        device = self.model.device
        logits = torch.full((len(self.objects), 1, h, w), NO_OBJECT_LOGIT, device=device)
        scores = torch.full((len(self.objects),), NO_OBJECT_LOGIT, device=device)
        for i, obj in enumerate(self.objects.values()):
            out: FrameOutput | None = obj.latest(t, storage)
            if out is not None:
                logits[i : i + 1] = resize_logits(out.pred_masks.to(device), (h, w))
                scores[i] = out.object_score_logits.reshape(())
        if self.non_overlap_masks:
            logits = non_overlapping(logits)
        return FrameResult(t, self.obj_ids, logits[:, 0], scores, self.mask_threshold)
