"""Typed rows of the annotation database."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class MediaKind(str, Enum):
    VIDEO = "video"  # a video file read through PyAV
    FRAMES = "frames"  # a folder of image frames


class PromptKind(str, Enum):
    CLICKS = "clicks"  # points and labels and/or a box
    MASK = "mask"  # a binary mask
    CLEAR = "clear"  # forget the object's prompts on a frame
    REMOVE = "remove"  # remove the object


class Direction(str, Enum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BOTH = "both"  # forward from the start frame, then backward from it


class PropagationState(str, Enum):
    QUEUED = "queued"  # waiting for a session
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the server stopped while it ran

    @property
    def finished(self) -> bool:
        return self not in (PropagationState.QUEUED, PropagationState.RUNNING)


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    created_at: float


@dataclass(frozen=True)
class Media:
    id: int
    project_id: int
    name: str
    kind: MediaKind
    path: str  # relative to the data folder
    num_frames: int
    width: int
    height: int
    fps: float | None
    created_at: float


@dataclass(frozen=True)
class AnnotatedObject:
    media_id: int
    obj_id: int
    name: str
    removed: bool  # an active "remove" prompt hides it (undo brings it back)


@dataclass(frozen=True)
class Prompt:
    step_id: int
    kind: PromptKind
    obj_id: int
    frame_idx: int | None
    points: list[list[float]] | None = None  # [[x, y], ...] video pixels
    labels: list[int] | None = None  # 1 positive, 0 negative
    box: list[float] | None = None  # [x1, y1, x2, y2]
    mask: str | None = None  # COCO RLE counts at the video's size
    clear_old_points: bool = True


@dataclass(frozen=True)
class Propagation:
    step_id: int
    direction: Direction
    start_frame: int | None
    max_frames: int | None
    frames_done: int
    state: PropagationState
    error: str | None = None


Step = Prompt | Propagation


@dataclass(frozen=True)
class StoredMask:
    """One object's mask on one frame, as the step `step_id` computed it."""

    step_id: int
    obj_id: int
    frame_idx: int
    counts: str  # COCO RLE counts; the size is the video's
    score: float  # object score logit: > 0 visible, <= 0 occluded

    @property
    def visible(self) -> bool:
        return self.score > 0


@dataclass(frozen=True)
class ObjectMask:
    obj_id: int
    counts: str  # COCO RLE counts at the video's size
    score: float  # object score logit


@dataclass(frozen=True)
class FrameMasks:
    """Every object's mask on one frame, as one step computed them."""

    frame_idx: int
    masks: list[ObjectMask]
