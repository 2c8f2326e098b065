"""Prompted segmentation and tracking through whole videos.

`VideoPredictor` mirrors the reference `SAM2VideoPredictor`: `init_state`, then prompts
(`add_new_points_or_box`, `add_new_mask`) for any object on any frame, then
`propagate_in_video` to get each object's mask on every frame (a masklet). Prompts can be added
at any time, also after propagating (new objects, correction clicks), and propagation can run
forwards or backwards.

What differs from the reference:
  - frames are decoded lazily from any source `masklet.io.open_video` reads (video files,
    frame folders, arrays), never the whole video up front;
  - objects on a frame are tracked as one batch (shared image features, batched memory
    attention, decoder and memory encoder), with results equal to tracking them one by one;
  - small holes (`fill_hole_area`) are filled on the CPU too;
  - memories stored in bfloat16 are cast to the model's dtype before attention, so tracking
    an object over frames before its first prompt works without autocast;
  - `propagate` yields `FrameResult`s (logits, binary masks, RLE and object scores).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from masklet.model.sam2 import NO_OBJECT_LOGIT, SAM2Model
from masklet.predict.image import BOX_BOTTOM_RIGHT, BOX_TOP_LEFT, _as_float_tensor, _check_inside, _VALID_LABELS
from masklet.predict.memory_bank import FrameOutput, ObjectMemory, select_memory
from masklet.predict.results import FrameResult
from masklet.predict.tracking import FrameFeatures, TrackingEngine
from masklet.predict.transforms import preprocess_video_frame

# Logits that non-overlapping constraints push losing objects' pixels to (at most).
SUPPRESSED_LOGIT = -10.0


@dataclass
class TrackedObject:
    """Prompts and outputs of one object in a session."""

    points: dict = field(default_factory=dict)  # frame -> (coords [1, N, 2], labels [1, N])
    masks: dict = field(default_factory=dict)  # frame -> [1, 1, S, S] binary mask prompt
    memory: ObjectMemory = field(default_factory=ObjectMemory)
    # Outputs of prompts not yet consolidated into memory, keyed "cond" / "non_cond".
    pending: dict = field(default_factory=lambda: {"cond": {}, "non_cond": {}})
    tracked: dict = field(default_factory=dict)  # frame -> tracked in reverse (bool)

    def latest(self, frame_idx: int, storage: str) -> FrameOutput | None:
        """The freshest output on a frame: a pending one of `storage`, else the stored one."""
        out = self.pending[storage].get(frame_idx)
        return out if out is not None else self.memory.get(frame_idx)


class InferenceState:
    """One video session. Pass it back to the predictor's methods; for compatibility with
    code written for the reference, `state["num_frames"]`, `["video_height"]`,
    `["video_width"]`, `["obj_ids"]` and `["device"]` also work."""

    def __init__(self, video, engine: TrackingEngine, image_size: int, feature_cache_size: int = 2) -> None:
        self.video = video
        self.engine = engine
        self.image_size = image_size
        self.num_frames = len(video)
        self.video_height, self.video_width = int(video.height), int(video.width)
        self.objects: "OrderedDict[object, TrackedObject]" = OrderedDict()
        self._features: "OrderedDict[int, FrameFeatures]" = OrderedDict()
        self._feature_cache_size = feature_cache_size

    @property
    def obj_ids(self) -> list:
        return list(self.objects)

    @property
    def device(self) -> torch.device:
        return self.engine.model.device

    def __getitem__(self, key: str):
        if key in ("num_frames", "video_height", "video_width", "obj_ids", "device"):
            return getattr(self, key)
        raise KeyError(f"InferenceState has no item {key!r}; use its attributes")

    def features(self, frame_idx: int) -> FrameFeatures:
        """The frame's image features, computed on first use and kept for the last few frames."""
        if frame_idx in self._features:
            self._features.move_to_end(frame_idx)
            return self._features[frame_idx]
        image = preprocess_video_frame(self.video[frame_idx], self.image_size)
        features = self.engine.frame_features(image)
        self._features[frame_idx] = features
        while len(self._features) > self._feature_cache_size:
            self._features.popitem(last=False)
        return features

    def nbytes(self) -> int:
        """Bytes held by the session's per-frame outputs (memories, masks, pointers)."""
        total = 0
        for obj in self.objects.values():
            outputs = [*obj.memory.cond.values(), *obj.memory.non_cond.values()]
            outputs += [*obj.pending["cond"].values(), *obj.pending["non_cond"].values()]
            total += sum(o.nbytes() for o in outputs)
        return total


class VideoPredictor:
    """Tracks prompted objects through a video (the reference `SAM2VideoPredictor` API).

    Arguments (defaults are those of the reference's `build_sam2_video_predictor`):
      model: a `SAM2Model` (see `masklet.load_model`).
      fill_hole_area: background holes of at most this many low-res pixels inside a mask are
        filled; 0 disables (the reference silently skips this on machines without its CUDA
        extension, so use 0 to compare with it there).
      non_overlap_masks: each pixel goes to at most one object in the returned masks.
      clear_non_cond_mem_around_input: drop tracked-frame memories within `num_maskmem` frames
        of a new prompt, so stale appearance does not fight the correction.
      add_all_frames_to_correct_as_cond: correction clicks on tracked frames make those
        frames conditioning frames (kept in memory for good, and not re-tracked).
      mask_threshold: logit threshold of the binary masks in `FrameResult`s.
      show_progress: a tqdm bar while propagating.
      attention_batch_size: most objects per memory-attention call ("auto": one at a time on
        the CPU, where that is faster, all together on accelerators; None: all together).
    """

    def __init__(
        self,
        model: SAM2Model,
        fill_hole_area: int = 8,
        non_overlap_masks: bool = False,
        clear_non_cond_mem_around_input: bool = False,
        add_all_frames_to_correct_as_cond: bool = False,
        mask_threshold: float = 0.0,
        show_progress: bool = True,
        attention_batch_size: int | str | None = "auto",
    ) -> None:
        if not isinstance(model, SAM2Model):
            raise TypeError(
                f"model must be a masklet SAM2Model, got {type(model).__name__}; create one with masklet.load_model(...)"
            )
        if fill_hole_area < 0:
            raise ValueError(f"fill_hole_area must be >= 0, got {fill_hole_area}")
        self.model = model.eval()
        self.fill_hole_area = fill_hole_area
        self.non_overlap_masks = non_overlap_masks
        self.clear_non_cond_mem_around_input = clear_non_cond_mem_around_input
        self.add_all_frames_to_correct_as_cond = add_all_frames_to_correct_as_cond
        self.mask_threshold = mask_threshold
        self.show_progress = show_progress
        self.attention_batch_size = attention_batch_size

    @classmethod
    def from_pretrained(cls, name_or_path: str, device="cpu", dtype=torch.float32, **kwargs) -> "VideoPredictor":
        """A predictor on `masklet.load_model(name_or_path, device=..., dtype=...)`."""
        from masklet.checkpoint import load_model

        return cls(load_model(name_or_path, device=device, dtype=dtype), **kwargs)

    @property
    def image_size(self) -> int:
        return self.model.image_size

    @property
    def device(self) -> torch.device:
        return self.model.device

    # ------------------------------------------------------------------ session

    @torch.inference_mode()
    def init_state(
        self,
        video_path,
        offload_video_to_cpu: bool = False,
        offload_state_to_cpu: bool = False,
        async_loading_frames: bool = False,
    ) -> InferenceState:
        """Open a video session.

        `video_path`: anything `masklet.io.open_video` reads (a video file, a folder of
        frames, a list of frames or paths, a [T, H, W, 3] array) or an opened `VideoSource`.
        Frames are decoded lazily whatever the flags: `offload_video_to_cpu` and
        `async_loading_frames` are accepted for compatibility and change nothing.
        `offload_state_to_cpu` keeps per-frame outputs in CPU memory.
        """
        from masklet.io.video import VideoSource, open_video

        video = video_path if isinstance(video_path, VideoSource) else open_video(video_path)
        if video.num_frames is None:
            raise ValueError(
                "init_state needs a video of known length; for cameras and other live streams use "
                "masklet.StreamTracker, which takes frames one at a time"
            )
        storage = torch.device("cpu") if offload_state_to_cpu else self.device
        engine = TrackingEngine(self.model, self.fill_hole_area, storage, self.attention_batch_size)
        return InferenceState(video, engine, self.image_size)

    @torch.inference_mode()
    def reset_state(self, inference_state: InferenceState) -> None:
        """Forget every object, prompt and result (the video stays open)."""
        inference_state.objects.clear()

    # ------------------------------------------------------------------ prompts

    @torch.inference_mode()
    def add_new_points_or_box(
        self,
        inference_state: InferenceState,
        frame_idx: int,
        obj_id,
        points=None,
        labels=None,
        clear_old_points: bool = True,
        normalize_coords: bool = True,
        box=None,
    ):
        """Clicks and/or a box for object `obj_id` on a frame (a new object or a correction).

        points [N, 2] (x, y) with labels [N] (1 foreground, 0 background); box [4] x1, y1, x2,
        y2; pixels of the video unless `normalize_coords=False` (then in [0, 1]). With
        `clear_old_points=False` the clicks are added to the frame's earlier ones.
        Returns (frame_idx, obj_ids, masks [num_objects, 1, H, W] logits on that frame).
        """
        state = inference_state
        frame_idx = self._check_frame(state, frame_idx)
        coords, point_labels = prompt_points(
            points, labels, box, clear_old_points, normalize_coords, state.video_width, state.video_height, self.image_size
        )
        obj = self._object(state, obj_id, create=True)
        if not clear_old_points and frame_idx in obj.points:
            old_coords, old_labels = obj.points[frame_idx]
            coords = torch.cat([old_coords, coords], dim=1)
            point_labels = torch.cat([old_labels, point_labels], dim=1)
        obj.points[frame_idx] = (coords, point_labels)
        obj.masks.pop(frame_idx, None)

        is_first_look = frame_idx not in obj.tracked
        storage = "cond" if is_first_look or self.add_all_frames_to_correct_as_cond else "non_cond"
        previous = obj.latest(frame_idx, storage)
        prev_logits = None if previous is None else previous.pred_masks.to(self.device).clamp(-32.0, 32.0)
        selection = None
        if not is_first_look:
            selection = select_memory(obj.memory, frame_idx, obj.tracked[frame_idx], state.num_frames, self.model.config)
        features = state.features(frame_idx)
        (out,) = state.engine.track(
            features, [selection], state.num_frames, coords.to(self.device), point_labels.to(self.device),
            prev_mask_logits=prev_logits, encode_memory=False,
        )
        obj.pending[storage][frame_idx] = out
        return frame_idx, state.obj_ids, self._frame_masks(state, frame_idx, storage)

    def add_new_points(self, *args, **kwargs):
        """Same as `add_new_points_or_box` (the reference's older name)."""
        return self.add_new_points_or_box(*args, **kwargs)

    @torch.inference_mode()
    def add_new_mask(self, inference_state: InferenceState, frame_idx: int, obj_id, mask):
        """A binary mask [H, W] for object `obj_id` on a frame; it is taken as the object's
        mask there. Returns (frame_idx, obj_ids, masks [num_objects, 1, H, W] logits)."""
        state = inference_state
        frame_idx = self._check_frame(state, frame_idx)
        mask_tensor = mask_prompt(mask, self.image_size)
        obj = self._object(state, obj_id, create=True)
        obj.masks[frame_idx] = mask_tensor
        obj.points.pop(frame_idx, None)
        is_first_look = frame_idx not in obj.tracked
        storage = "cond" if is_first_look or self.add_all_frames_to_correct_as_cond else "non_cond"
        (out,) = state.engine.use_masks(state.features(frame_idx), mask_tensor.to(self.device))
        obj.pending[storage][frame_idx] = out
        return frame_idx, state.obj_ids, self._frame_masks(state, frame_idx, storage)

    @torch.inference_mode()
    def clear_all_prompts_in_frame(self, inference_state: InferenceState, frame_idx: int, obj_id, need_output: bool = True):
        """Remove the object's prompts on a frame; the frame becomes an ordinary tracked
        frame. Returns (frame_idx, obj_ids, masks) unless `need_output=False`."""
        state = inference_state
        frame_idx = self._check_frame(state, frame_idx)
        obj = self._object(state, obj_id)
        obj.points.pop(frame_idx, None)
        obj.masks.pop(frame_idx, None)
        obj.pending["cond"].pop(frame_idx, None)
        obj.pending["non_cond"].pop(frame_idx, None)
        out = obj.memory.cond.pop(frame_idx, None)
        if out is not None:
            obj.memory.non_cond[frame_idx] = out
            obj.tracked.pop(frame_idx, None)
        if not need_output:
            return None
        storage = "cond" if any(frame_idx in o.pending["cond"] for o in state.objects.values()) else "non_cond"
        return frame_idx, state.obj_ids, self._frame_masks(state, frame_idx, storage)

    @torch.inference_mode()
    def remove_object(self, inference_state: InferenceState, obj_id, strict: bool = False, need_output: bool = True):
        """Forget an object. Returns (remaining obj_ids, [(frame_idx, masks)] for the frames
        where it had prompts). Unknown ids are ignored unless `strict`."""
        state = inference_state
        if obj_id not in state.objects:
            if strict:
                raise KeyError(f"cannot remove object id {obj_id!r}: it does not exist; known ids: {state.obj_ids}")
            return state.obj_ids, []
        if len(state.objects) == 1:
            self.reset_state(state)
            return state.obj_ids, []
        obj = state.objects[obj_id]
        prompted = list(dict.fromkeys([*obj.points, *obj.masks]))
        for frame_idx in prompted:
            self.clear_all_prompts_in_frame(state, frame_idx, obj_id, need_output=False)
        del state.objects[obj_id]
        updated = []
        if need_output:
            for frame_idx in prompted:
                storage = "cond" if any(frame_idx in o.pending["cond"] for o in state.objects.values()) else "non_cond"
                updated.append((frame_idx, self._frame_masks(state, frame_idx, storage)))
        return state.obj_ids, updated

    # ------------------------------------------------------------------ propagation

    @torch.inference_mode()
    def propagate_in_video(
        self,
        inference_state: InferenceState,
        start_frame_idx: int | None = None,
        max_frame_num_to_track: int | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[int, list, torch.Tensor]]:
        """Track every object frame by frame. Yields (frame_idx, obj_ids, masks
        [num_objects, 1, H, W] logits at video resolution).

        Starts at `start_frame_idx` (default: the earliest prompted frame) and runs over
        `max_frame_num_to_track` frames after it (default: to the end), backwards if
        `reverse`."""
        for result in self._propagate(inference_state, start_frame_idx, max_frame_num_to_track, reverse):
            yield result.frame_idx, result.obj_ids, result.logits[:, None]

    def propagate(
        self,
        inference_state: InferenceState,
        start_frame_idx: int | None = None,
        max_frame_num_to_track: int | None = None,
        reverse: bool = False,
    ) -> Iterator[FrameResult]:
        """`propagate_in_video`, yielding `FrameResult`s (logits, masks, RLE, object scores)."""
        yield from self._propagate(inference_state, start_frame_idx, max_frame_num_to_track, reverse)

    @torch.inference_mode()
    def _propagate(self, state: InferenceState, start_frame_idx, max_frame_num_to_track, reverse) -> Iterator[FrameResult]:
        self._commit_prompts(state)
        frames = self._processing_order(state, start_frame_idx, max_frame_num_to_track, reverse)
        for frame_idx in tqdm(frames, desc="propagate in video", disable=not self.show_progress):
            outputs = self._track_frame(state, frame_idx, reverse)
            yield self._result(state, frame_idx, outputs)

    def _processing_order(self, state: InferenceState, start, max_frames, reverse) -> range:
        if start is None:
            start = min(t for obj in state.objects.values() for t in obj.memory.cond)
        start = self._check_frame(state, start)
        if max_frames is None:
            max_frames = state.num_frames
        if max_frames < 0:
            raise ValueError(f"max_frame_num_to_track must be >= 0, got {max_frames}")
        if reverse:
            end = max(start - max_frames, 0)
            return range(start, end - 1, -1) if start > 0 else range(0)
        end = min(start + max_frames, state.num_frames - 1)
        return range(start, end + 1)

    def _track_frame(self, state: InferenceState, frame_idx: int, reverse: bool) -> list[FrameOutput]:
        """Each object's output on a frame: stored for prompted frames, tracked (as one
        batch) for the others."""
        outputs: dict = {}
        to_track = []
        for obj_id, obj in state.objects.items():
            if frame_idx in obj.memory.cond:
                outputs[obj_id] = obj.memory.cond[frame_idx]
                if self.clear_non_cond_mem_around_input:
                    self._clear_memory_around(obj, frame_idx)
            else:
                to_track.append(obj_id)
        if to_track:
            selections = [
                select_memory(state.objects[o].memory, frame_idx, reverse, state.num_frames, self.model.config)
                for o in to_track
            ]
            tracked = state.engine.track(state.features(frame_idx), selections, state.num_frames)
            for obj_id, out in zip(to_track, tracked):
                state.objects[obj_id].memory.non_cond[frame_idx] = out
                outputs[obj_id] = out
        for obj in state.objects.values():
            obj.tracked[frame_idx] = reverse
        return [outputs[o] for o in state.objects]

    def _commit_prompts(self, state: InferenceState) -> None:
        """Before tracking: encode the memories of prompted frames and move them into the
        objects' memory banks."""
        if not state.objects:
            raise RuntimeError("no object has prompts: add points, a box or a mask first")
        committed = commit_prompts(state.engine, list(state.objects.values()), state.features)
        if self.clear_non_cond_mem_around_input:
            for obj, frame_idx in committed:
                self._clear_memory_around(obj, frame_idx)
        for obj_id, obj in state.objects.items():
            if not obj.memory.cond:
                raise RuntimeError(
                    f"object id {obj_id!r} has no prompts: add points, a box or a mask for it, or remove it"
                )
            for frame_idx in obj.memory.cond:
                obj.memory.non_cond.pop(frame_idx, None)

    def _clear_memory_around(self, obj: TrackedObject, frame_idx: int) -> None:
        cfg = self.model.config
        reach = cfg.memory_temporal_stride_for_eval * cfg.num_maskmem
        for t in range(frame_idx - reach, frame_idx + reach + 1):
            obj.memory.non_cond.pop(t, None)

    # ------------------------------------------------------------------ outputs

    def _frame_masks(self, state: InferenceState, frame_idx: int, storage: str) -> torch.Tensor:
        """All objects' logits on a frame [num_objects, 1, H, W] (NO_OBJECT_LOGIT where an
        object has no output there), after prompts."""
        low_res = [obj.latest(frame_idx, storage) for obj in state.objects.values()]
        logits = torch.full(
            (len(low_res), 1, state.video_height, state.video_width), NO_OBJECT_LOGIT,
            dtype=torch.float32, device=state.engine.storage_device,
        )
        for i, out in enumerate(low_res):
            if out is not None:
                logits[i : i + 1] = self._to_video_size(state, out.pred_masks)
        return self._apply_non_overlap(logits.to(self.device))

    def _result(self, state: InferenceState, frame_idx: int, outputs: list[FrameOutput]) -> FrameResult:
        low_res = torch.cat([o.pred_masks.to(self.device) for o in outputs])
        logits = self._apply_non_overlap(self._to_video_size(state, low_res))
        scores = torch.cat([o.object_score_logits.to(self.device) for o in outputs]).reshape(-1)
        return FrameResult(frame_idx, state.obj_ids, logits[:, 0], scores, self.mask_threshold)

    @staticmethod
    def _to_video_size(state: InferenceState, logits: torch.Tensor) -> torch.Tensor:
        return resize_logits(logits, (state.video_height, state.video_width))

    def _apply_non_overlap(self, logits: torch.Tensor) -> torch.Tensor:
        return non_overlapping(logits) if self.non_overlap_masks else logits

    # ------------------------------------------------------------------ input checks

    @staticmethod
    def _check_frame(state: InferenceState, frame_idx) -> int:
        if not isinstance(frame_idx, (int, np.integer)) or isinstance(frame_idx, bool):
            raise TypeError(f"frame_idx must be an int, got {type(frame_idx).__name__}")
        if not 0 <= frame_idx < state.num_frames:
            raise IndexError(f"frame_idx {frame_idx} is outside the video's {state.num_frames} frames (0..{state.num_frames - 1})")
        return int(frame_idx)

    @staticmethod
    def _object(state: InferenceState, obj_id, create: bool = False) -> TrackedObject:
        if obj_id not in state.objects:
            if not create:
                raise KeyError(f"unknown object id {obj_id!r}; known ids: {state.obj_ids}")
            state.objects[obj_id] = TrackedObject()
        return state.objects[obj_id]


def commit_prompts(engine: TrackingEngine, objects: list[TrackedObject], features_of) -> list[tuple[TrackedObject, int]]:
    """Move the outputs of prompts into the objects' memories, encoding those without a
    memory yet (all objects prompted on a frame in one batch). `features_of(frame_idx)` gives
    a frame's features. Returns the (object, frame) pairs committed."""
    by_frame: dict[int, list] = {}
    for obj in objects:
        for storage in ("non_cond", "cond"):
            for frame_idx, out in obj.pending[storage].items():
                by_frame.setdefault(frame_idx, []).append((obj, storage, out))
            obj.pending[storage] = {}
    committed = []
    for frame_idx, entries in by_frame.items():
        fresh = [out for _, _, out in entries if out.maskmem_features is None]
        if fresh:
            engine.encode_prompted(features_of(frame_idx), fresh)
        for obj, storage, out in entries:
            getattr(obj.memory, storage)[frame_idx] = out
            if storage == "cond":
                obj.memory.non_cond.pop(frame_idx, None)
            committed.append((obj, frame_idx))
    return committed


def prompt_points(
    points, labels, box, clear_old_points: bool, normalize_coords: bool, width: int, height: int, image_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated clicks and box corners on a width x height frame, in model pixels ->
    (coords [1, N, 2], labels [1, N]); box corners (labels 2, 3) come first."""
    if (points is None) != (labels is None):
        raise ValueError("points and labels must be given together")
    if points is None and box is None:
        raise ValueError("give points (with labels) or a box")
    if box is not None and not clear_old_points:
        raise ValueError(
            "a box must come before any click on a frame: pass clear_old_points=True with a box"
        )
    w, h = width, height
    extent = torch.tensor([w, h], dtype=torch.float32) if normalize_coords else torch.ones(2)
    unit = "pixels" if normalize_coords else "normalised units"
    coords = torch.zeros(1, 0, 2)
    point_labels = torch.zeros(1, 0, dtype=torch.int32)
    if points is not None:
        coords = _as_float_tensor(points, "points").reshape(1, -1, 2) if np.size(points) else coords
        point_labels = torch.as_tensor(np.asarray(labels)).to(torch.int32).reshape(1, -1)
        if coords.shape[1] != point_labels.shape[1]:
            raise ValueError(f"{coords.shape[1]} points were given with {point_labels.shape[1]} labels")
        bad = sorted({int(v) for v in point_labels.unique()} - set(_VALID_LABELS))
        if bad:
            raise ValueError(f"labels may only hold 1 (foreground) or 0 (background); got {bad}")
        _check_inside(coords[0], extent, "point", unit, w, h)
    if box is not None:
        corners = _as_float_tensor(box, "box")
        if corners.numel() != 4:
            raise ValueError(f"box must be [x1, y1, x2, y2], got shape {tuple(np.shape(box))}")
        corners = corners.reshape(1, 2, 2)
        if bool((corners[0, 1] < corners[0, 0]).any()):
            raise ValueError("box must be x1, y1, x2, y2 with x1 <= x2 and y1 <= y2")
        _check_inside(corners[0], extent, "box corner", unit, w, h)
        coords = torch.cat([corners, coords], dim=1)
        corner_labels = torch.tensor([[BOX_TOP_LEFT, BOX_BOTTOM_RIGHT]], dtype=torch.int32)
        point_labels = torch.cat([corner_labels, point_labels], dim=1)
    return coords / extent * image_size, point_labels


def mask_prompt(mask, image_size: int) -> torch.Tensor:
    """A 2-D mask -> [1, 1, S, S] binary float (resized with antialiasing, >= 0.5)."""
    array = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if array.ndim != 2:
        raise ValueError(f"mask must be 2-D [H, W] (one object), got shape {array.shape}")
    if array.size == 0:
        raise ValueError("mask is empty (zero size)")
    tensor = torch.from_numpy(array.astype(bool)).float()[None, None]
    if tuple(tensor.shape[-2:]) != (image_size, image_size):
        tensor = F.interpolate(tensor, (image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
        tensor = (tensor >= 0.5).float()
    return tensor


def resize_logits(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[N, 1, h, w] logits -> [N, 1, H, W] float32 (bilinear)."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits.float(), size, mode="bilinear", align_corners=False)


def non_overlapping(logits: torch.Tensor) -> torch.Tensor:
    """[N, 1, H, W]: where objects overlap, all but the highest-scoring one are pushed to at
    most SUPPRESSED_LOGIT, so each pixel belongs to at most one object."""
    if logits.shape[0] <= 1:
        return logits
    winner = logits.argmax(dim=0, keepdim=True)
    rows = torch.arange(logits.shape[0], device=logits.device).view(-1, 1, 1, 1)
    return torch.where(winner == rows, logits, logits.clamp(max=SUPPRESSED_LOGIT))
