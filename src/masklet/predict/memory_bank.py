"""What one tracked object remembers, and which of it a new frame attends to.

Each object keeps its own outputs per frame: conditioning frames (where the user prompted it)
and non-conditioning frames (where it was tracked). For a frame to be tracked, the object's
memory bank offers:
  - spatial memories: every conditioning frame (temporal slot 0) and up to `num_maskmem - 1`
    of the previous tracked frames (slots 1..num_maskmem-1, oldest first; "previous" means
    later frames when tracking in reverse);
  - object pointers: those of the conditioning frames that are not in the future, and of up
    to `max_obj_ptrs_in_encoder - 1` previous frames, each with its signed frame distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from masklet.backend.arrays import ArrayOps
from masklet.backend.model import TrackingModel
from masklet.config import SAM2Config
from masklet.errors import MaskletError, OptionError


@dataclass(frozen=True)
class MemoryOptions:
    """How much of its memory a tracked frame attends to. The default is SAM 2's exact
    attention; the others do less work for slightly different masks (measured in
    benchmarks/results/fast_memory.md).

      pool: the memory cross-attention reads the tracked frames' spatial memories averaged
        over pool x pool cells of the feature grid, with log(pool^2) added to those keys'
        logits (`masklet.model.memory_pooling`); object pointers are read as they are. 1:
        every token. Needs the torch backend and a pool that divides the feature grid.
      pool_conditioning: pool the conditioning (prompted) frames' memories too. They anchor
        the object: pooling them costs masklet-nano about 5 J&F points more on DAVIS.
      recent_frames: the spatial memories of at most this many previous tracked frames, the
        nearest ones (None: all `num_maskmem - 1`). Conditioning frames and object pointers
        are read as before.
    """

    pool: int = 1
    recent_frames: int | None = None
    pool_conditioning: bool = False

    def __post_init__(self) -> None:
        if not _is_int(self.pool) or self.pool < 1:
            raise OptionError(f"memory pool must be a positive int (1: no pooling, 2: 2x2 cells), got {self.pool!r}")
        if self.recent_frames is not None and (not _is_int(self.recent_frames) or self.recent_frames < 0):
            raise OptionError(
                f"memory recent_frames must be None (all) or an int >= 0, got {self.recent_frames!r}"
            )
        if not isinstance(self.pool_conditioning, bool):
            raise OptionError(f"memory pool_conditioning must be True or False, got {self.pool_conditioning!r}")

    @classmethod
    def of(cls, memory: str | MemoryOptions) -> MemoryOptions:
        """The options a `memory=` argument names: a preset name or a MemoryOptions."""
        if isinstance(memory, MemoryOptions):
            return memory
        if isinstance(memory, str) and memory in MEMORY_PRESETS:
            return MEMORY_PRESETS[memory]
        raise OptionError(
            f"memory must be one of {', '.join(repr(n) for n in MEMORY_PRESETS)} or a "
            f"masklet.MemoryOptions, got {memory!r}"
        )

    def check(self, model: TrackingModel) -> None:
        """An OptionError where `model` cannot honour these options."""
        config = model.config
        if self.recent_frames is not None and self.recent_frames > config.num_maskmem - 1:
            raise OptionError(
                f"memory recent_frames={self.recent_frames}, but {config.name} remembers at most "
                f"{config.num_maskmem - 1} tracked frames; use 0..{config.num_maskmem - 1} or None"
            )
        if self.pool == 1:
            return
        if model.backend != "torch":
            raise OptionError(
                f"pooled memory (pool={self.pool}) runs inside the torch model's attention, not on the "
                f"{model.backend} backend; use memory='exact' or a MemoryOptions with pool=1"
            )
        grid = config.image_embedding_size
        if grid % self.pool:
            raise OptionError(
                f"memory pool {self.pool} does not divide {config.name}'s {grid}x{grid} feature grid "
                f"(image_size {config.image_size}); use a pool that divides {grid}"
            )

    def pools(self, slot: int) -> bool:
        """Whether the spatial memory in temporal slot `slot` (0: conditioning) is read pooled."""
        return self.pool > 1 and (slot != 0 or self.pool_conditioning)

    def reads_back(self, frames_back: int) -> bool:
        """Whether the spatial memory of the tracked frame `frames_back` frames back is read."""
        return self.recent_frames is None or frames_back <= self.recent_frames


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# "exact": SAM 2's memory attention; "fast": the fastest option measured to cost masklet-nano at
# most 1 J&F point on DAVIS (benchmarks/results/fast_memory.md).
MEMORY_PRESETS: dict[str, MemoryOptions] = {
    "exact": MemoryOptions(),
    "fast": MemoryOptions(pool=2),
}


@dataclass
class FrameOutput:
    """One object's result on one frame (arrays of the model's backend)."""

    pred_masks: Any  # [1, 1, S/4, S/4] float32 logits (after hole filling);
    # None once a streaming tracker no longer needs them
    obj_ptr: Any  # [1, C]
    object_score_logits: Any  # [1, 1]
    maskmem_features: Any = None  # [1, mem_dim, h, w] bfloat16 (numpy: its uint16 bits); None until encoded

    def tensors(self) -> list:
        """The tensors still held."""
        held = (self.pred_masks, self.obj_ptr, self.object_score_logits, self.maskmem_features)
        return [t for t in held if t is not None]

    def nbytes(self, ops: ArrayOps) -> int:
        return sum(ops.nbytes(t) for t in self.tensors())


class MemoryKind(Enum):
    """Where an output is remembered: as a conditioning frame (kept for good, attended to
    from every frame) or as a tracked frame (attended to from the next few frames)."""

    CONDITIONING = "cond"
    TRACKED = "non_cond"


class ReleasedFrameError(MaskletError, LookupError):
    """A step needs a tracked frame's output that a bounded-memory session has released."""


@dataclass
class ObjectMemory:
    """All outputs of one object: {frame index: FrameOutput}, and which tracked frames' outputs
    a bounded-memory session has released (None until it first releases one)."""

    cond: dict[int, FrameOutput] = field(default_factory=dict)
    non_cond: dict[int, FrameOutput] = field(default_factory=dict)
    released: np.ndarray | None = None  # [num_frames] bool

    def get(self, frame_idx: int) -> FrameOutput | None:
        """The output on a frame, a conditioning one first; raises `ReleasedFrameError` where
        the output was released."""
        output = self.cond.get(frame_idx, self.non_cond.get(frame_idx))
        if output is None:
            self.require_kept(frame_idx)
        return output

    def store(self, kind: MemoryKind, frame_idx: int, output: FrameOutput) -> None:
        """Remember an output; a conditioning output replaces a tracked one on its frame."""
        if kind is MemoryKind.CONDITIONING:
            self.cond[frame_idx] = output
            self.non_cond.pop(frame_idx, None)
        else:
            self.non_cond[frame_idx] = output
        if self.released is not None:
            self.released[frame_idx] = False

    def release(self, frame_idx: int, num_frames: int) -> None:
        """Drop a tracked frame's output, remembering that it existed."""
        del self.non_cond[frame_idx]
        if self.released is None:
            self.released = np.zeros(num_frames, dtype=bool)
        self.released[frame_idx] = True

    def require_kept(self, frame_idx: int) -> None:
        """Raise `ReleasedFrameError` if the frame's tracked output was released."""
        if self.released is not None and 0 <= frame_idx < len(self.released) and self.released[frame_idx]:
            raise ReleasedFrameError(
                f"frame {frame_idx} was tracked, but its output was released: a session opened with "
                "bounded_memory=True keeps only the frames near the current one and near prompted frames. "
                "Propagate from a prompted frame through this frame again before prompting or reading it, "
                "or open the session with bounded_memory=False"
            )


@dataclass
class MemorySelection:
    """What an object attends to on one frame."""

    spatial: list[tuple[int, FrameOutput]]  # (temporal slot, output), slot 0 = conditioning
    pointers: list[tuple[int, FrameOutput]]  # (signed frame distance, output)

    def layout(self) -> tuple[int, int, int]:
        """Objects with the same layout have memory banks of the same token count, split alike
        into conditioning and tracked memories (which pooled memory reads differently)."""
        conditioning = sum(1 for slot, _ in self.spatial if slot == 0)
        return conditioning, len(self.spatial) - conditioning, len(self.pointers)


def closest_cond_frames(
    frame_idx: int, cond: dict[int, FrameOutput], max_frames: int
) -> tuple[dict[int, FrameOutput], dict[int, FrameOutput]]:
    """Split conditioning frames into those attended to and the rest: at most `max_frames`
    (-1: all), always the nearest before and the nearest at-or-after `frame_idx`, then
    the temporally closest others."""
    if max_frames == -1 or len(cond) <= max_frames:
        return cond, {}
    if max_frames < 2:
        raise ValueError("max_cond_frames_in_attn must be -1 or at least 2")
    chosen: dict[int, FrameOutput] = {}
    before = [t for t in cond if t < frame_idx]
    after = [t for t in cond if t >= frame_idx]
    if before:
        chosen[max(before)] = cond[max(before)]
    if after:
        chosen[min(after)] = cond[min(after)]
    others = sorted((t for t in cond if t not in chosen), key=lambda t: abs(t - frame_idx))
    for t in others[: max_frames - len(chosen)]:
        chosen[t] = cond[t]
    rest = {t: v for t, v in cond.items() if t not in chosen}
    return chosen, rest


def previous_frame(frame_idx: int, frames_back: int, stride: int, reverse: bool) -> int:
    """The frame that memory slot `frames_back` frames before `frame_idx` reads: the frame
    just before for 1, else every `stride`-th frame counting back from 2 before."""
    if frames_back == 1:
        return frame_idx + 1 if reverse else frame_idx - 1
    if reverse:
        nearest = -(-(frame_idx + 2) // stride) * stride
        return nearest + (frames_back - 2) * stride
    nearest = ((frame_idx - 2) // stride) * stride
    return nearest - (frames_back - 2) * stride


def select_memory(
    memory: ObjectMemory, frame_idx: int, reverse: bool, num_frames: int | None, config: SAM2Config,
    options: MemoryOptions = MEMORY_PRESETS["exact"],
) -> MemorySelection:
    """The memories and pointers an object attends to when tracked onto `frame_idx`.
    `num_frames` is None for unbounded streams; `options.recent_frames` limits the tracked
    frames whose spatial memories are read."""
    cond, unselected_cond = closest_cond_frames(frame_idx, memory.cond, config.max_cond_frames_in_attn)

    def tracked(t: int) -> FrameOutput | None:
        output = memory.non_cond.get(t, unselected_cond.get(t))
        if output is None:
            memory.require_kept(t)
        return output

    spatial = [(0, out) for out in cond.values()]
    for slot in range(1, config.num_maskmem):
        frames_back = config.num_maskmem - slot
        if not options.reads_back(frames_back):
            continue
        out = tracked(previous_frame(frame_idx, frames_back, config.memory_temporal_stride_for_eval, reverse))
        if out is not None:
            spatial.append((slot, out))

    sign = -1 if reverse else 1
    in_past = (lambda t: t >= frame_idx) if reverse else (lambda t: t <= frame_idx)
    pointers = [
        ((frame_idx - t) * sign if config.use_signed_tpos_enc_to_obj_ptrs else abs(frame_idx - t), out)
        for t, out in cond.items()
        if in_past(t)
    ]
    max_pointers = pointer_window(num_frames, config)
    for distance in range(1, max_pointers):
        t = frame_idx - distance * sign
        if t < 0 or (num_frames is not None and t >= num_frames):
            break
        out = tracked(t)
        if out is not None:
            pointers.append((distance, out))
    return MemorySelection(spatial, pointers)


def pointer_window(num_frames: int | None, config: SAM2Config) -> int:
    """How many object pointers a frame may attend to (also their distance normaliser)."""
    if num_frames is None:
        return config.max_obj_ptrs_in_encoder
    return min(num_frames, config.max_obj_ptrs_in_encoder)


@dataclass(frozen=True)
class MemoryReach:
    """How far, in frames, the memory of tracked frames reaches: the one place that turns
    `num_maskmem`, `memory_temporal_stride_for_eval` and `max_obj_ptrs_in_encoder` into
    distances.

      spatial: a tracked frame's spatial memory is read by frames less than this far after it
        (the farthest slot `previous_frame` reads is spatial - 1 frames back);
      pointers: its object pointer is read by frames less than this far after it;
      around_prompt: with `clear_non_cond_mem_around_input`, tracked memories within this
        distance of a prompted frame are dropped (the reference's stride * num_maskmem).
    """

    spatial: int
    pointers: int
    around_prompt: int

    @classmethod
    def of(cls, config: SAM2Config) -> MemoryReach:
        stride = config.memory_temporal_stride_for_eval
        return cls(
            spatial=stride * (config.num_maskmem - 2) + 2,
            pointers=config.max_obj_ptrs_in_encoder,
            around_prompt=stride * config.num_maskmem,
        )
