"""A least-recently-used store of decoded frames, bounded by bytes rather than count.

Random-access sources keep the frames they read here, so moving back and forth over a
few frames decodes each only once; the lock makes it safe to fill from a background thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np


class FrameCache:
    """Thread-safe LRU cache of frames by index, bounded by the bytes the frames hold."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, index: int) -> bool:
        return index in self._frames

    def get(self, index: int) -> np.ndarray | None:
        with self._lock:
            frame = self._frames.get(index)
            if frame is not None:
                self._frames.move_to_end(index)
            return frame

    def put(self, index: int, frame: np.ndarray) -> None:
        if frame.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._frames.pop(index, None)
            if old is not None:
                self.nbytes -= old.nbytes
            self._frames[index] = frame
            self.nbytes += frame.nbytes
            while self.nbytes > self.max_bytes:
                _, evicted = self._frames.popitem(last=False)
                self.nbytes -= evicted.nbytes

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self.nbytes = 0
