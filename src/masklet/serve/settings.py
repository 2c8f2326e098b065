"""What `masklet serve` is configured with (its command-line options)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIB = 2**20


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 2048 * MIB  # one upload request
    max_frames: int = 10_000  # frames of one video or image folder
    max_seconds: float = 3600.0  # duration of one video
    max_frame_pixels: int = 8192 * 4320  # width x height of a frame (8K)
    max_archive_files: int = 20_000  # members of a zip
    max_archive_bytes: int = 8192 * MIB  # uncompressed bytes of a zip
    max_compression_ratio: float = 200.0  # a member larger than this many times its packed size is a bomb


@dataclass(frozen=True)
class ServeSettings:
    data_dir: Path
    database_url: str | None = None  # None: SQLite in WAL mode at <data_dir>/masklet.db
    token: str | None = None  # required on every request when set
    max_sessions: int = 4  # model sessions kept in memory (LRU)
    max_session_bytes: int = 4096 * MIB  # memory of idle sessions kept (LRU)
    request_wait_s: float = 30.0  # how long a request waits for a busy video before a 409
    max_json_bytes: int = 16 * MIB  # body of any request that is not an upload
    uploads: UploadLimits = UploadLimits()
    video_cache_mib: float = 64.0  # decoded frames cached per open video
    suggestion_points: int = 16  # "segment everything": the point grid has this many points per side
    suggestion_iou_thresh: float | None = None  # masks the model scores lower are not suggested (None: the model's own)
    suggestion_stability_thresh: float | None = None  # nor masks less stable than this (None: the model's own)
