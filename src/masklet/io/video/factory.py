"""`open_video`: one call that picks the right `VideoSource` for whatever it is given.

It checks its arguments and dispatches on the kind of source: URLs go to a PyAV stream,
video files to a PyAV file, image folders, single images, lists and arrays to a
`FrameSequence`, and any other iterable to a `FrameStream`. Nothing is decoded yet.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from masklet.io.image import IMAGE_SUFFIXES, image_files
from masklet.io.video.frames import FrameSequence
from masklet.io.video.pyav import VideoFile, open_av_stream
from masklet.io.video.source import VideoReadError, VideoSource
from masklet.io.video.stream import FrameStream

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def open_video(source: Any, *, prefetch: int = 4, cache_mib: float = 256) -> VideoSource:
    """Open `source` as a `VideoSource` without decoding it.

    `source` is a video file path, a folder of image frames, a stream URL, a list or tuple of
    frames, an array [T, H, W, 3] uint8, or any other iterable of frames (read in order
    only). `prefetch` is how many frames are read ahead in the background (0 turns it off);
    `cache_mib` bounds the memory of decoded frames kept for random access.
    """
    if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
        raise ValueError(f"prefetch must be an int >= 0, got {prefetch!r}")
    if not cache_mib >= 0:
        raise ValueError(f"cache_mib must be >= 0, got {cache_mib!r}")
    cache_bytes = int(cache_mib * 2**20)
    if isinstance(source, VideoSource):
        return source
    if isinstance(source, (str, os.PathLike)):
        return _open_path(source, prefetch, cache_bytes)
    if isinstance(source, (bytes, bytearray, Image.Image)):
        raise VideoReadError(
            f"cannot open an object of type {type(source).__name__} as a video: pass a path, a folder of frames, "
            "a list of frames or an array [T, H, W, 3]"
        )
    if isinstance(source, np.ndarray) or (hasattr(source, "__array__") and hasattr(source, "shape")):
        return _open_array(np.asarray(source))
    if isinstance(source, Sequence):
        if len(source) == 0:
            raise VideoReadError(f"the {type(source).__name__} of frames is empty: a video needs at least one frame")
        name = f"{type(source).__name__} of {len(source)} frames"
        return FrameSequence(list(source), name=name, prefetch=prefetch, cache_bytes=cache_bytes)
    if isinstance(source, Iterable):
        return FrameStream(iter(source), name=f"{type(source).__name__} of frames", prefetch=prefetch)
    raise VideoReadError(
        f"cannot open an object of type {type(source).__name__} as a video: expected a video file or "
        "frame folder path, a stream URL, a list of frames, an array [T, H, W, 3] or an iterable of frames"
    )


def _open_path(source: str | os.PathLike, prefetch: int, cache_bytes: int) -> VideoSource:
    text = os.fspath(source)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if _URL.match(text):
        return open_av_stream(text, prefetch=prefetch)
    path = Path(text)
    if not path.exists():
        raise VideoReadError(f"{path} does not exist: expected a video file or a folder of image frames")
    if path.is_dir():
        return _open_folder(path, prefetch, cache_bytes)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return FrameSequence([path], name=str(path), prefetch=0, cache_bytes=cache_bytes)
    return VideoFile(path, prefetch=prefetch, cache_bytes=cache_bytes)


def _open_folder(folder: Path, prefetch: int, cache_bytes: int) -> FrameSequence:
    frames = image_files(folder)
    if not frames:
        kinds = " ".join(sorted(IMAGE_SUFFIXES))
        raise VideoReadError(f"folder {folder} has no image frames (looked for {kinds}, any case)")
    return FrameSequence(frames, name=f"folder {folder}", prefetch=prefetch, cache_bytes=cache_bytes)


def _open_array(array: np.ndarray) -> FrameSequence:
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        hint = " (for a single frame pass [frame])" if array.ndim in (2, 3) else ""
        raise VideoReadError(f"a video array must have shape [T, H, W, 3], got {list(array.shape)}{hint}")
    if array.dtype != np.uint8:
        raise VideoReadError(f"a video array must be uint8, got {array.dtype}")
    if len(array) == 0:
        raise VideoReadError("the video array has no frames (shape [0, H, W, C])")
    return FrameSequence(array, name=f"array of {len(array)} frames", prefetch=0, cache_bytes=0)
