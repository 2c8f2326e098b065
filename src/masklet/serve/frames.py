"""Frames of stored media for the browser: an image folder's files as they are, a video's
frames decoded through PyAV and encoded as JPEG."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

from masklet.io.image import image_files
from masklet.io.video import VideoSource, open_video
from masklet.serve.datadir import DataDir
from masklet.serve.storage.records import Media, MediaKind

JPEG_QUALITY = 90
MEDIA_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".bmp": "image/bmp"}


class FrameStore:
    """Reads frames of stored media, keeping a few videos open (least recently used closed)."""

    def __init__(self, data: DataDir, max_open: int = 4, cache_mib: float = 64.0) -> None:
        self.data, self.max_open, self.cache_mib = data, max_open, cache_mib
        self._videos: OrderedDict[int, tuple[VideoSource, threading.Lock]] = OrderedDict()
        self._files: dict[int, list[Path]] = {}
        self._lock = threading.Lock()

    def _video(self, media: Media) -> tuple[VideoSource, threading.Lock]:
        with self._lock:
            if media.id not in self._videos:
                self._videos[media.id] = (open_video(self.data.resolve(media.path), cache_mib=self.cache_mib), threading.Lock())
                while len(self._videos) > self.max_open:
                    self._videos.popitem(last=False)[1][0].close()
            self._videos.move_to_end(media.id)
            return self._videos[media.id]

    def files(self, media: Media) -> list[Path]:
        """The frame files of an image-folder media, in frame order."""
        with self._lock:
            if media.id not in self._files:
                self._files[media.id] = image_files(self.data.resolve(media.path))
            return self._files[media.id]

    def rgb(self, media: Media, frame_idx: int) -> np.ndarray:
        """Frame `frame_idx` as RGB uint8 [H, W, 3]."""
        video, lock = self._video(media)
        with lock:
            return video[frame_idx]

    def encoded(self, media: Media, frame_idx: int) -> tuple[bytes | Path, str]:
        """(the frame's file or encoded bytes, its media type) for the browser."""
        if media.kind is MediaKind.FRAMES:
            path = self.files(media)[frame_idx]
            return path, MEDIA_TYPES[path.suffix.lower()]
        buffer = io.BytesIO()
        Image.fromarray(self.rgb(media, frame_idx)).save(buffer, format="JPEG", quality=JPEG_QUALITY)
        return buffer.getvalue(), "image/jpeg"

    def forget(self, media_id: int) -> None:
        with self._lock:
            self._files.pop(media_id, None)
            entry = self._videos.pop(media_id, None)
        if entry is not None:
            entry[0].close()

    def close(self) -> None:
        for media_id in list(self._videos):
            self.forget(media_id)
