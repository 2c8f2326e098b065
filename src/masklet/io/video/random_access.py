"""Sources of known length that read one frame at a time, when it is asked for.

`RandomAccessSource` leaves the actual reading to subclasses and adds what they all need:
index checks, a byte-bounded `FrameCache`, and a background thread that reads the next
few frames in the direction the caller is moving, dropping queued reads after a jump.
"""

from __future__ import annotations

import operator
import threading
from abc import abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from masklet.io.video.cache import FrameCache
from masklet.io.video.source import VideoReadError, VideoSource


class RandomAccessSource(VideoSource):
    """A source of known length read frame by frame on demand.

    Subclasses implement `_read(index, backward)`. Frames read are cached; after each access
    the next `prefetch` frames in the direction of travel (forward or backward) are read on
    a background thread.
    """

    is_seekable = True

    def __init__(
        self, *, name: str, num_frames: int, height: int, width: int, fps: float | None, prefetch: int, cache_bytes: int
    ):
        self.name = name
        self.num_frames = num_frames
        self.height = height
        self.width = width
        self.fps = fps
        self._prefetch = prefetch
        self._cache = FrameCache(cache_bytes)
        self._pending: dict[int, Future] = {}
        self._pending_lock = threading.RLock()  # a done future runs its callback at once, in the caller
        self._executor: ThreadPoolExecutor | None = None
        self._last: int | None = None
        self._closed = False

    @property
    def cached_frames(self) -> int:
        """How many decoded frames the cache holds now."""
        return len(self._cache)

    @property
    def cached_bytes(self) -> int:
        """Memory held by the cached frames, at most the cache budget."""
        return self._cache.nbytes

    @abstractmethod
    def _read(self, index: int, backward: bool) -> np.ndarray:
        """Read frame `index`; `backward` says frames are being walked in decreasing order."""

    def __getitem__(self, index: int) -> np.ndarray:
        if self._closed:
            raise VideoReadError(f"{self.name} is closed")
        i = self._check_index(index)
        step = 0 if self._last is None else i - self._last
        direction = step if step in (1, -1) else 0
        self._last = i
        ahead = range(i + direction, i + direction * (self._prefetch + 1), direction) if direction else range(0)
        self._cancel_pending(keep={i, *ahead})
        frame = self._fetch(i, backward=direction < 0)
        if self._prefetch:
            self._schedule(ahead, backward=direction < 0)
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.num_frames):
            yield self[i]

    def _check_index(self, index: int) -> int:
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(f"frame indices must be integers, got {type(index).__name__}") from None
        n = self.num_frames
        if not -n <= i < n:
            raise IndexError(f"frame {i} is out of range: {self.name} has {n} frames (valid indices {-n}..{n - 1})")
        return i % n

    def _fetch(self, i: int, backward: bool) -> np.ndarray:
        frame = self._cache.get(i)
        if frame is not None:
            return frame
        with self._pending_lock:
            future = self._pending.get(i)
        if future is not None and not future.cancelled():
            frame = future.result()
        else:
            # A background read may have finished between the two lookups; it caches first.
            frame = self._cache.get(i)
            if frame is None:
                frame = self._read(i, backward)
        self._cache.put(i, frame)
        return frame

    def _cancel_pending(self, keep: set[int]) -> None:
        """Drop the queued background reads of frames not in `keep` (a running one finishes)."""
        with self._pending_lock:
            for i, future in list(self._pending.items()):
                if i not in keep:
                    future.cancel()  # a cancelled future's done callback forgets it

    def _schedule(self, indices: range, backward: bool) -> None:
        """Queue background reads of the frames `indices` that are not cached or queued yet."""
        wanted = [i for i in indices if 0 <= i < self.num_frames and i not in self._cache]
        if not wanted:
            return
        with self._pending_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="masklet-video")
            for i in wanted:
                if i not in self._pending:
                    future = self._executor.submit(self._prefetch_one, i, backward)
                    self._pending[i] = future
                    future.add_done_callback(lambda _, i=i: self._forget(i))

    def _prefetch_one(self, i: int, backward: bool) -> np.ndarray:
        frame = self._cache.get(i)
        if frame is None:
            frame = self._read(i, backward)
            self._cache.put(i, frame)
        return frame

    def _forget(self, i: int) -> None:
        with self._pending_lock:
            self._pending.pop(i, None)

    def close(self) -> None:
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._pending.clear()
        self._cache.clear()
