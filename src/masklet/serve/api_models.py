"""The JSON bodies of the API (requests and responses), as documented in its OpenAPI schema."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from masklet.serve.storage.records import Direction, PropagationState

# no NUL character: PostgreSQL's text cannot hold one (SQLite's can), so it is refused on both
NO_NUL = r"^[^\x00]*$"
Name = Field(min_length=1, max_length=200, pattern=NO_NUL)
FrameIndex = Field(ge=0, le=10_000_000)
MAX_ID = 2**53 - 1  # ids are 64-bit in the database; a browser's numbers hold this much exactly
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="a record's id")]
FramePath = Annotated[int, Path(ge=0, le=10_000_000, description="frame index, from 0")]


class ErrorOut(BaseModel):
    detail: str = Field(description="what was wrong and what to do")


ERRORS = {status: {"model": ErrorOut, "description": text} for status, text in (
    (400, "bad input"), (401, "missing or wrong token"), (403, "a change sent from another site's page"),
    (404, "no such record"),
    (409, "conflicts with the state (busy video, nothing to undo, removed object)"),
    (413, "too large"), (415, "unsupported media type"), (503, "the server is stopping; retry once it is back"),
)}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ProjectIn(Strict):
    name: str = Name


class ProjectOut(BaseModel):
    id: int
    name: str
    created_at: float


class MediaOut(BaseModel):
    id: int
    project_id: int
    name: str
    kind: str = Field(description='"video" (read through PyAV) or "frames" (an image folder)')
    num_frames: int
    width: int
    height: int
    fps: float | None
    created_at: float


class ObjectIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)


class ObjectOut(BaseModel):
    obj_id: int
    name: str
    removed: bool
    color: str = Field(description="its colour in overlays and the DAVIS palette, #rrggbb")


class ClicksIn(Strict):
    frame_idx: int = FrameIndex
    points: list[tuple[float, float]] | None = Field(default=None, max_length=1000,
                                                     description="[[x, y], ...] in video pixels")
    labels: list[Literal[0, 1]] | None = Field(default=None, max_length=1000, description="1 positive, 0 negative, per point")
    box: tuple[float, float, float, float] | None = Field(default=None, description="[x1, y1, x2, y2] in video pixels")
    clear_old_points: bool = Field(default=True, description="false: add the clicks to the frame's earlier ones")


class MaskIn(Strict):
    frame_idx: int = FrameIndex
    counts: str = Field(min_length=1, max_length=8_000_000,
                        description="COCO RLE counts (compressed string) of a mask at the video's size")


class FrameIn(Strict):
    frame_idx: int = FrameIndex


class MaskOut(BaseModel):
    obj_id: int
    frame_idx: int
    counts: str = Field(description="COCO RLE counts; the size is the media's [height, width]")
    score: float = Field(description="object score logit: > 0 visible, <= 0 occluded")
    visible: bool


class PromptOut(BaseModel):
    step_id: int
    frame_idx: int | None
    size: tuple[int, int] = Field(description="[height, width] of the masks")
    masks: list[MaskOut] = Field(description="every object's mask on the prompt's frame")


class MasksOut(BaseModel):
    size: tuple[int, int]
    masks: list[MaskOut]


class HistoryOut(BaseModel):
    steps: int
    can_undo: bool
    can_redo: bool
    changed: list[int] = Field(default_factory=list, description="step ids undone or redone by this call")


class PropagationIn(Strict):
    direction: Direction = Direction.FORWARD
    start_frame: int | None = Field(default=None, ge=0, le=10_000_000,
                                    description="default: the earliest prompted frame")
    max_frames: int | None = Field(default=None, ge=0, le=10_000_000,
                                   description="frames to track after the start (default: to the end)")


class JobOut(BaseModel):
    job_id: int
    media_id: int
    step_id: int | None
    direction: Direction
    state: PropagationState
    frames_done: int
    frames_total: int | None
    error: str | None


class SuggestionOut(BaseModel):
    index: int
    counts: str
    area: int
    bbox: list[float] = Field(description="[x, y, w, h]")
    predicted_iou: float
    stability_score: float


class SuggestionsOut(BaseModel):
    frame_idx: int
    size: tuple[int, int]
    suggestions: list[SuggestionOut]


class AcceptIn(Strict):
    index: int = Field(ge=0, le=100_000)
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)


class AcceptOut(BaseModel):
    object: ObjectOut
    prompt: PromptOut


class InfoOut(BaseModel):
    version: str
    model: str
    image_size: int
    export_formats: list[str]
    max_upload_bytes: int
    max_frames: int
    auth: bool
