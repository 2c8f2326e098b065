"""The tables, at the newest schema version (`migrations.py` builds them step by step).

A video's annotation is a log of steps (`steps`): prompts (`prompts`: clicks, boxes, masks,
clearing a frame, removing an object) and propagations (`propagations`), in id order. Undo
marks the last prompt and what followed it as undone; a new prompt deletes the undone steps.
Every step that computes masks stores each object's mask on the frames it computed
(`masklets`, COCO RLE); the mask shown for an object on a frame is the one of the latest
step that is not undone.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from masklet.serve.storage.dialects import Id  # 64-bit on every database

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, nullable=False),
)

projects = Table(
    "projects", metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    sqlite_autoincrement=True,
)

media = Table(
    "media", metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", Id, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # "video" | "frames"
    Column("path", String(400), nullable=False),  # relative to the data folder
    Column("num_frames", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("fps", Float),
    Column("created_at", Float, nullable=False),
    sqlite_autoincrement=True,
)

objects = Table(
    "objects", metadata,
    Column("id", Id, primary_key=True),
    Column("media_id", Id, ForeignKey("media.id", ondelete="CASCADE"), nullable=False),
    Column("obj_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("media_id", "obj_id"),
    sqlite_autoincrement=True,
)

steps = Table(
    "steps", metadata,
    Column("id", Id, primary_key=True),
    Column("media_id", Id, ForeignKey("media.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # "prompt" | "propagation"
    Column("undone", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    sqlite_autoincrement=True,
)

prompts = Table(
    "prompts", metadata,
    Column("step_id", Id, ForeignKey("steps.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), nullable=False),  # "clicks" | "mask" | "clear" | "remove"
    Column("obj_id", Integer, nullable=False),
    Column("frame_idx", Integer),  # None for "remove"
    Column("points", Text),  # JSON [[x, y], ...] in video pixels
    Column("labels", Text),  # JSON [1 | 0, ...]
    Column("box", Text),  # JSON [x1, y1, x2, y2]
    Column("mask", Text),  # COCO RLE counts of an [H, W] mask
    Column("clear_old_points", Boolean, nullable=False, default=True),
)

propagations = Table(
    "propagations", metadata,
    Column("step_id", Id, ForeignKey("steps.id", ondelete="CASCADE"), primary_key=True),
    Column("direction", String(16), nullable=False),  # "forward" | "backward" | "both"
    Column("start_frame", Integer),  # None: the earliest prompted frame
    Column("max_frames", Integer),  # None: to the end of the video
    Column("frames_done", Integer, nullable=False, default=0),
    Column("state", String(16), nullable=False),  # see records.PropagationState
    Column("error", Text),
)

masklets = Table(
    "masklets", metadata,
    Column("id", Id, primary_key=True),
    Column("step_id", Id, ForeignKey("steps.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("media_id", Id, ForeignKey("media.id", ondelete="CASCADE"), nullable=False),
    Column("obj_id", Integer, nullable=False),
    Column("frame_idx", Integer, nullable=False),
    Column("counts", Text, nullable=False),  # COCO RLE counts of the [H, W] mask
    Column("score", Float, nullable=False),  # object score logit: > 0 visible, <= 0 occluded
    Index("ix_masklets_media_frame", "media_id", "frame_idx"),
    sqlite_autoincrement=True,
)
