"""One tracking session: the objects on a video, their prompts and memories, and the rules
that turn prompts and frames into masks. `VideoPredictor` (whole videos, the reference API)
and `StreamTracker` (live frames) are thin adapters over it.

A session reads frames from a frame source: `VideoFrames` (random access, the image features
of the last few frames cached) or `LiveFrames` (the current frame only). What it keeps is set
by a retention policy: `KeepEverything` (offline: prompts can come back to any frame),
`ReleaseFarFrames` (offline with bounded memory: results equal to keeping everything, but a
frame far from the current one and from every prompt can no longer be prompted or read) or
`ForgetUnreachable` (streams: drop what no future frame can attend to, so memory stays flat).

The rules, each written once:
  - a prompt on a frame the object has not been tracked on (or, with
    `add_all_frames_to_correct_as_cond`, any prompt) makes a conditioning frame; a correction
    on a tracked frame makes a tracked-frame memory;
  - a prompt's output is held as pending until the next tracking step commits it: the
    memories of all objects prompted on a frame are then encoded in one batch;
  - a correction click feeds the object's latest logits on that frame back as a mask prompt.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

import numpy as np

from masklet import allocator
from masklet.backend.arrays import ArrayOps, under_inference
from masklet.backend.model import TrackingModel
from masklet.backend.outputs import NO_OBJECT_LOGIT
from masklet.config import SAM2Config
from masklet.errors import OptionError
from masklet.io.video import as_rgb_frame
from masklet.predict.memory_bank import (
    FrameOutput,
    MemoryKind,
    MemoryOptions,
    MemoryReach,
    MemorySelection,
    ObjectMemory,
    ReleasedFrameError,
    select_memory,
)
from masklet.predict.prompts import (
    MASK_LOGIT_LIMIT,
    Clicks,
    binary_mask_prompt,
    user_clicks,
)
from masklet.predict.resize import video_frame_input
from masklet.predict.results import FrameResult, non_overlapping
from masklet.predict.tracking import FrameFeatures, TrackingEngine


@dataclass(frozen=True)
class TrackingOptions:
    """Settings of a session (defaults are those of the reference's video predictor builder).

      fill_hole_area: background holes of at most this many low-res pixels inside a mask are
        filled; 0 disables.
      non_overlap_masks: each pixel goes to at most one object in the returned masks.
      clear_non_cond_mem_around_input: drop tracked-frame memories within `num_maskmem`
        frames of a prompt, so stale appearance does not fight the correction.
      add_all_frames_to_correct_as_cond: corrections on tracked frames make conditioning frames.
      mask_threshold: logit threshold of the binary masks in `FrameResult`s.
      attention_batch_size: most objects per memory-attention call ("auto": one at a time on
        the CPU, where that is faster, all together on accelerators; None: all together).
      memory: how much memory a tracked frame attends to (`MemoryOptions`; the default is
        SAM 2's exact attention).
    """

    fill_hole_area: int = 8
    non_overlap_masks: bool = False
    clear_non_cond_mem_around_input: bool = False
    add_all_frames_to_correct_as_cond: bool = False
    mask_threshold: float = 0.0
    attention_batch_size: int | str | None = "auto"
    memory: MemoryOptions = field(default_factory=MemoryOptions)

    def __post_init__(self) -> None:
        if self.fill_hole_area < 0:
            raise ValueError(f"fill_hole_area must be >= 0, got {self.fill_hole_area}")
        size = self.attention_batch_size
        if size not in ("auto", None) and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
            raise ValueError(f'attention_batch_size must be a positive int, None or "auto", got {size!r}')
        if not isinstance(self.memory, MemoryOptions):
            raise OptionError(f"memory must be a MemoryOptions (MemoryOptions.of turns a preset name into one), got {self.memory!r}")


class PendingOutput(NamedTuple):
    """A prompt's output that is not yet in memory, and where it will go."""

    kind: MemoryKind
    output: FrameOutput


@dataclass
class TrackedObject:
    """Prompts and outputs of one object in a session."""

    points: dict[int, Clicks] = field(default_factory=dict)  # frame -> its clicks, model pixels
    mask_frames: set[int] = field(default_factory=set)  # frames prompted with a mask
    memory: ObjectMemory = field(default_factory=ObjectMemory)
    pending: dict[int, PendingOutput] = field(default_factory=dict)  # frame -> uncommitted output
    tracked: dict[int, bool] = field(default_factory=dict)  # frame -> tracked in reverse

    def latest(self, frame_idx: int) -> FrameOutput | None:
        """The freshest output on a frame: a pending one, else the remembered one."""
        pending = self.pending.get(frame_idx)
        return pending.output if pending is not None else self.memory.get(frame_idx)

    def prompted_frames(self) -> list[int]:
        return sorted({*self.points, *self.mask_frames})

    def clear_prompts(self, frame_idx: int) -> None:
        """Forget the prompts on a frame: its output, if remembered as a conditioning frame,
        becomes an ordinary tracked frame."""
        self.points.pop(frame_idx, None)
        self.mask_frames.discard(frame_idx)
        self.pending.pop(frame_idx, None)
        out = self.memory.cond.pop(frame_idx, None)
        if out is not None:
            self.memory.non_cond[frame_idx] = out
            self.tracked.pop(frame_idx, None)


class VideoFrames:
    """Random access to a video's frames; image features are computed on first use and kept
    for the last `cache_size` frames."""

    def __init__(self, video, engine: TrackingEngine, cache_size: int = 2) -> None:
        if video.num_frames is None:
            raise ValueError(
                "init_state needs a video of known length; for cameras and other live streams use "
                "masklet.StreamTracker, which takes frames one at a time"
            )
        self.video, self.engine, self.cache_size = video, engine, cache_size
        self.num_frames: int = len(video)
        self.size = (int(video.height), int(video.width))  # (H, W)
        self._cache: OrderedDict[int, FrameFeatures] = OrderedDict()

    def check(self, frame_idx) -> int:
        if not isinstance(frame_idx, (int, np.integer)) or isinstance(frame_idx, bool):
            raise TypeError(f"frame_idx must be an int, got {type(frame_idx).__name__}")
        if not 0 <= frame_idx < self.num_frames:
            raise IndexError(f"frame_idx {frame_idx} is outside the video's {self.num_frames} frames (0..{self.num_frames - 1})")
        return int(frame_idx)

    def cached_bytes(self) -> int:
        """Bytes held by the cached image features."""
        tensors = [t for f in self._cache.values() for t in (f.vision_feats, f.vision_pos, *f.high_res_feats)]
        return sum(self.engine.arrays.nbytes(t) for t in tensors)

    def features(self, frame_idx: int) -> FrameFeatures:
        if frame_idx in self._cache:
            self._cache.move_to_end(frame_idx)
            return self._cache[frame_idx]
        image = video_frame_input(self.video[frame_idx], self.engine.model.image_size)
        features = self._cache[frame_idx] = self.engine.frame_features(image)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return features


class LiveFrames:
    """Frames of a live stream, numbered 0, 1, ... as they arrive; only the current one's
    features are kept."""

    num_frames: int | None = None

    def __init__(self, engine: TrackingEngine) -> None:
        self.engine = engine
        self.current = -1
        self.size: tuple[int, int] | None = None  # (H, W) of the stream, from its first frame
        self._features: FrameFeatures | None = None

    def next_frame(self, frame) -> np.ndarray:
        """The next frame as RGB uint8 [H, W, 3], checked against the stream's size."""
        array = as_rgb_frame(frame, f"frame {self.current + 1}")
        if self.size is not None and array.shape[:2] != self.size:
            (h, w), (sh, sw) = array.shape[:2], self.size
            raise ValueError(f"frame {self.current + 1} is {w}x{h}, the stream's frames are {sw}x{sh}")
        return array

    def push(self, array: np.ndarray, features: FrameFeatures | None = None) -> int:
        """Make a frame from `next_frame` the current one, with its image features when they
        were computed already (`masklet.predict.stream.encode_frame`); returns its index."""
        if features is None:
            with self.engine.arrays.inference():
                features = self.engine.frame_features(video_frame_input(array, self.engine.model.image_size))
        self._features = features
        self.size = (int(array.shape[0]), int(array.shape[1]))
        self.current += 1
        return self.current

    def check(self, frame_idx) -> int:
        if self.current < 0:
            raise RuntimeError("no frame yet: call track(frame) first, then prompt on that frame")
        if frame_idx != self.current:
            raise IndexError(f"a stream can only be prompted on its current frame {self.current}, not {frame_idx}")
        return self.current

    def features(self, frame_idx: int) -> FrameFeatures:
        self.check(frame_idx)
        if self._features is None:
            raise RuntimeError("no frame yet: call track(frame) first")
        return self._features


class KeepEverything:
    """Offline retention: every output stays, so prompts can come back to any frame."""

    def after_frame(self, objects, frame_idx: int, config: SAM2Config) -> None:
        pass


class ReleaseFarFrames:
    """Bounded offline retention: after each frame, release every tracked output at least one
    memory reach (`MemoryReach`: the farther of the spatial and pointer windows) away from the
    current frame and from every prompted frame of any object. A pass that starts at a prompted
    frame, in either direction, then reads only kept outputs, so results equal
    `KeepEverything`'s; a step that would read a released output (a prompt on a released frame,
    its result, a pass started elsewhere) raises `ReleasedFrameError` instead of differing.
    Each object keeps at most about one reach of frames per prompt and one at the current
    frame, whatever the video's length."""

    def __init__(self, num_frames: int) -> None:
        self.num_frames = num_frames

    def after_frame(self, objects, frame_idx: int, config: SAM2Config) -> None:
        reach = MemoryReach.of(config)
        distance = max(reach.spatial, reach.pointers)
        anchors = [frame_idx, *{t for obj in objects for t in (*obj.memory.cond, *obj.prompted_frames(), *obj.pending)}]
        for obj in objects:
            for frame in [f for f in obj.memory.non_cond if all(abs(f - a) >= distance for a in anchors)]:
                obj.memory.release(frame, self.num_frames)
                obj.tracked.pop(frame, None)


class ForgetUnreachable:
    """Stream retention: after each frame, drop what no future frame can attend to: tracked
    frames' memories older than the spatial window, their pointers older than the pointer
    window, masks of past frames, and prompts and tracking marks of past frames (prompted
    outputs stay as conditioning memories). Memory stays flat over unbounded streams."""

    def after_frame(self, objects, frame_idx: int, config: SAM2Config) -> None:
        t = frame_idx
        reach = MemoryReach.of(config)
        spatial_reach = reach.spatial
        oldest_kept = t - max(spatial_reach, reach.pointers - 1) + 1
        for obj in objects:
            for frame in [f for f in obj.memory.non_cond if f < oldest_kept]:
                del obj.memory.non_cond[frame]
            for frame, out in obj.memory.non_cond.items():
                if frame <= t - spatial_reach:
                    out.maskmem_features = None
            for out in [o for f, o in (*obj.memory.cond.items(), *obj.memory.non_cond.items()) if f < t]:
                out.pred_masks = None
            for frame in [f for f in {*obj.points, *obj.mask_frames, *obj.tracked} if f < t]:
                obj.points.pop(frame, None)
                obj.mask_frames.discard(frame)
                obj.tracked.pop(frame, None)


FrameSource = TypeVar("FrameSource", VideoFrames, LiveFrames)


class TrackingSession(Generic[FrameSource]):
    """Objects, prompts and memories on one video. For code written for the reference,
    `session["num_frames"]`, `["video_height"]`, `["video_width"]`, `["obj_ids"]` and
    `["device"]` also work."""

    def __init__(self, model: TrackingModel, frames: FrameSource, engine: TrackingEngine,
                 options: TrackingOptions, retention: KeepEverything | ReleaseFarFrames | ForgetUnreachable) -> None:
        self.model, self.engine = model, engine
        self.frames: FrameSource = frames
        self.options, self.retention = options, retention
        self.objects: OrderedDict[object, TrackedObject] = OrderedDict()
        allocator.trim()  # what earlier videos left in the heap goes back to the system

    @classmethod
    def for_video(
        cls, model: TrackingModel, video, options: TrackingOptions, storage_device=None, bounded_memory: bool = False
    ) -> TrackingSession[VideoFrames]:
        options.memory.check(model)
        engine = TrackingEngine(
            model, fill_hole_area=options.fill_hole_area, storage_device=storage_device,
            attention_batch_size=options.attention_batch_size, memory=options.memory,
        )
        frames = VideoFrames(video, engine)
        retention = ReleaseFarFrames(frames.num_frames) if bounded_memory else KeepEverything()
        return TrackingSession(model, frames, engine, options, retention)

    @classmethod
    def for_stream(cls, model: TrackingModel, options: TrackingOptions) -> TrackingSession[LiveFrames]:
        options.memory.check(model)
        engine = TrackingEngine(
            model, fill_hole_area=options.fill_hole_area, attention_batch_size=options.attention_batch_size,
            memory=options.memory,
        )
        return TrackingSession(model, LiveFrames(engine), engine, options, ForgetUnreachable())

    @property
    def num_frames(self) -> int | None:
        return self.frames.num_frames

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the video's frames."""
        if self.frames.size is None:
            raise RuntimeError("the stream has no frame yet: call track(frame) first")
        return self.frames.size

    @property
    def video_height(self) -> int:
        return self.size[0]

    @property
    def video_width(self) -> int:
        return self.size[1]

    @property
    def obj_ids(self) -> list:
        return list(self.objects)

    @property
    def device(self):
        """The model's device (a torch.device; "cpu" on the ONNX backend)."""
        return self.model.device

    @property
    def arrays(self) -> ArrayOps:
        return self.engine.arrays

    def __getitem__(self, key: str):
        if key in ("num_frames", "video_height", "video_width", "obj_ids", "device"):
            return getattr(self, key)
        raise KeyError(f"the session has no item {key!r}; use its attributes")

    # ------------------------------------------------------------------ prompts

    @under_inference
    def add_points_or_box(
        self, frame_idx, obj_id, *, points=None, labels=None, clear_old_points: bool = True,
        normalize_coords: bool = True, box=None,
    ) -> FrameResult:
        """Clicks and/or a box for one object on a frame (a new object or a correction)."""
        t = self.frames.check(frame_idx)
        if box is not None and not clear_old_points:
            raise ValueError("a box must come before any click on a frame: pass clear_old_points=True with a box")
        height, width = self.size
        clicks = user_clicks(points, labels, box, width, height, self.model.image_size, normalize_coords)
        if clicks is None:
            raise ValueError("give points (with labels) or a box")
        if clicks.coords.shape[0] != 1:
            raise ValueError("a video prompt is for one object: pass points as [N, 2] and a box as [4]")
        obj = self._object_to_prompt(obj_id, t)
        if not clear_old_points and t in obj.points:
            clicks = obj.points[t].followed_by(clicks)
        obj.points[t] = clicks
        obj.mask_frames.discard(t)
        previous = obj.latest(t)
        prev_logits = None
        if previous is not None:
            prev_logits = self.arrays.clamp(self.arrays.asarray(previous.pred_masks), MASK_LOGIT_LIMIT)
        selection = None
        if t in obj.tracked:
            selection = self._select_memory(obj, t, obj.tracked[t])
        prediction = self.engine.predict(self.frames.features(t), [selection], self.num_frames, clicks, prev_logits)
        self._hold(obj, t, self.engine.outputs(prediction)[0])
        return self.result(t)

    @under_inference
    def add_mask(self, frame_idx, obj_id, mask) -> FrameResult:
        """A binary mask [H, W] for one object on a frame, taken as its mask there."""
        t = self.frames.check(frame_idx)
        masks = binary_mask_prompt(mask, self.model.image_size)
        obj = self._object_to_prompt(obj_id, t)
        obj.mask_frames.add(t)
        obj.points.pop(t, None)
        prediction = self.engine.prediction_from_masks(self.frames.features(t), masks)
        self._hold(obj, t, self.engine.outputs(prediction)[0])
        return self.result(t)

    def _object_to_prompt(self, obj_id, frame_idx: int) -> TrackedObject:
        """The object a prompt on a frame is for (new if unknown), once it is sure that every
        object's output there is at hand (the prompt's result shows them all)."""
        self._require_kept(frame_idx)
        return self.objects.setdefault(obj_id, TrackedObject())

    def _require_kept(self, frame_idx: int) -> None:
        """Raise `ReleasedFrameError` if an object's output on the frame was released."""
        for obj_id, obj in self.objects.items():
            try:
                obj.memory.require_kept(frame_idx)
            except ReleasedFrameError as e:
                raise ReleasedFrameError(f"object {obj_id!r}: {e}") from None

    def _hold(self, obj: TrackedObject, frame_idx: int, output: FrameOutput) -> None:
        """Keep a prompt's output until the next commit; where it goes is decided now."""
        first_look = frame_idx not in obj.tracked
        cond = first_look or self.options.add_all_frames_to_correct_as_cond
        obj.pending[frame_idx] = PendingOutput(MemoryKind.CONDITIONING if cond else MemoryKind.TRACKED, output)

    def clear_prompts(self, frame_idx, obj_id) -> int:
        """Remove an object's prompts on a frame; returns the frame index."""
        t = self.frames.check(frame_idx)
        self.object(obj_id).clear_prompts(t)
        return t

    def object(self, obj_id) -> TrackedObject:
        if obj_id not in self.objects:
            raise KeyError(f"unknown object id {obj_id!r}; known ids: {self.obj_ids}")
        return self.objects[obj_id]

    def remove_object(self, obj_id, strict: bool = False) -> list[int]:
        """Forget an object; returns the frames it had prompts on. Unknown ids are ignored
        unless `strict`."""
        if strict:
            self.object(obj_id)  # raises for an unknown id
        obj = self.objects.pop(obj_id, None)
        return [] if obj is None else obj.prompted_frames()

    def reset(self) -> None:
        """Forget every object, prompt and result."""
        self.objects.clear()
        allocator.trim()

    # ------------------------------------------------------------------ tracking

    @under_inference
    def commit_prompts(self) -> None:
        """Move the outputs of prompts into the objects' memories, encoding the memories of
        all objects prompted on a frame as one batch."""
        by_frame: dict[int, list[tuple[TrackedObject, PendingOutput]]] = {}
        for obj in self.objects.values():
            for frame_idx, pending in obj.pending.items():
                by_frame.setdefault(frame_idx, []).append((obj, pending))
            obj.pending = {}
        for frame_idx, entries in by_frame.items():
            fresh = [p.output for _, p in entries if p.output.maskmem_features is None]
            if fresh:
                self.engine.add_prompt_memories(self.frames.features(frame_idx), fresh)
            for obj, pending in entries:
                obj.memory.store(pending.kind, frame_idx, pending.output)
        if self.options.clear_non_cond_mem_around_input:
            for frame_idx, entries in by_frame.items():
                for obj, _ in entries:
                    self._clear_memory_around(obj, frame_idx)
        for obj_id, obj in self.objects.items():
            if not obj.memory.cond:
                raise RuntimeError(f"object id {obj_id!r} has no prompts: add points, a box or a mask for it, or remove it")
            for frame_idx in obj.memory.cond:
                obj.memory.non_cond.pop(frame_idx, None)

    @under_inference
    def track(self, frame_idx: int, reverse: bool = False) -> FrameResult:
        """Every object's mask on a frame: remembered on its conditioning frames, tracked (as
        one batch) from memory elsewhere."""
        t = frame_idx
        to_track = []
        for obj in self.objects.values():
            if t not in obj.memory.cond:
                to_track.append(obj)
            elif self.options.clear_non_cond_mem_around_input:
                self._clear_memory_around(obj, t)
        if to_track:
            features = self.frames.features(t)
            selections = [self._select_memory(o, t, reverse) for o in to_track]
            prediction = self.engine.predict(features, selections, self.num_frames)
            memories = self.engine.memory_features(
                features, prediction.high_res_masks, prediction.object_score_logits, binarize=False
            )
            for obj, out in zip(to_track, self.engine.outputs(prediction, memories)):
                obj.memory.store(MemoryKind.TRACKED, t, out)
        for obj in self.objects.values():
            obj.tracked[t] = reverse
        self.retention.after_frame(self.objects.values(), t, self.model.config)
        return self.result(t)

    def _select_memory(self, obj: TrackedObject, frame_idx: int, reverse: bool) -> MemorySelection:
        return select_memory(obj.memory, frame_idx, reverse, self.num_frames, self.model.config, self.options.memory)

    def _clear_memory_around(self, obj: TrackedObject, frame_idx: int) -> None:
        reach = MemoryReach.of(self.model.config).around_prompt
        for t in range(frame_idx - reach, frame_idx + reach + 1):
            obj.memory.non_cond.pop(t, None)

    # ------------------------------------------------------------------ outputs

    def result(self, frame_idx: int) -> FrameResult:
        """Every object's latest logits on a frame at video resolution (NO_OBJECT_LOGIT where
        an object has no output there)."""
        self._require_kept(frame_idx)
        ops = self.engine.arrays
        size: tuple[int, int] = self.size
        logits = ops.full((len(self.objects), 1, *size), NO_OBJECT_LOGIT)  # [N, 1, H, W]
        scores = ops.full((len(self.objects),), NO_OBJECT_LOGIT)
        for i, obj in enumerate(self.objects.values()):
            out = obj.latest(frame_idx)
            if out is not None:
                logits[i : i + 1] = ops.resize(ops.asarray(out.pred_masks), size)
                scores[i] = out.object_score_logits.reshape(())
        if self.options.non_overlap_masks:
            logits = non_overlapping(logits, ops)
        return FrameResult(frame_idx, self.obj_ids, logits[:, 0], scores, self.options.mask_threshold)

    def memory_stats(self) -> dict:
        """What the session holds: {"tensors": count, "bytes": total, "frames": per-object
        count of remembered frames}."""
        tensors, nbytes, frames = 0, 0, {}
        obj: TrackedObject
        for obj_id, obj in self.objects.items():
            outputs = [*obj.memory.cond.values(), *obj.memory.non_cond.values(), *(p.output for p in obj.pending.values())]
            frames[obj_id] = len(obj.memory.cond) + len(obj.memory.non_cond)
            tensors += sum(len(o.tensors()) for o in outputs) + sum(len(c) for c in obj.points.values())
            nbytes += sum(o.nbytes(self.arrays) for o in outputs)
        return {"tensors": tensors, "bytes": nbytes, "frames": frames}

    def nbytes(self) -> int:
        """Bytes held by the per-frame outputs (memories, masks, pointers)."""
        return self.memory_stats()["bytes"]
