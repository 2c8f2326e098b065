"""Videos that can only be read front to back, once: cameras, generators, network streams.

`FrameStream` wraps an iterator of frames. It reads the first frame straight away to know
the frame size, checks every later frame against it, and can keep a background thread a
few frames ahead of the reader through a bounded queue.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from masklet.io.video.source import VideoReadError, VideoSource, as_rgb_frame


class FrameStream(VideoSource):
    """Frames pulled in order from an iterator (a camera, a generator, a network stream).

    The first frame is read on opening to learn the frame size. The stream can be iterated
    once; with `prefetch` > 0 a background thread reads up to that many frames ahead.
    `on_close` runs when the stream is closed or exhausted (it releases what the iterator
    reads from).
    """

    is_seekable = False

    def __init__(
        self,
        frames: Iterator[Any],
        *,
        name: str,
        fps: float | None = None,
        prefetch: int = 4,
        on_close: Callable[[], None] | None = None,
    ):
        self.name = name
        self.fps = fps
        self._frames = frames
        self._prefetch = prefetch
        self._on_close = on_close
        self._started = False
        self._closed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._release_lock = threading.Lock()
        try:
            self._first: np.ndarray | None = as_rgb_frame(next(frames), f"frame 0 of {name}")
        except StopIteration:
            self._release()
            raise VideoReadError(f"{name} produced no frames") from None
        except BaseException:
            self._release()
            raise
        self.height, self.width = self._first.shape[:2]

    def __getitem__(self, index: int) -> np.ndarray:
        raise TypeError(
            f"{self.name} is a stream: its frames can only be read in order by iterating over it "
            "(random access needs a video file, a frame folder, a list of frames or an array)"
        )

    def __iter__(self) -> Iterator[np.ndarray]:
        self._check_open()
        if self._started:
            raise VideoReadError(
                f"{self.name} is a stream and can be iterated only once; open it again, "
                "or collect its frames into a list for repeated or random access"
            )
        self._started = True
        return self._iterate()

    def _iterate(self) -> Iterator[np.ndarray]:
        first, self._first = self._first, None
        self._check_open()
        yield first
        raw_frames = self._pulled_ahead() if self._prefetch else self._frames
        n = 0
        while True:
            self._check_open()
            try:
                raw = next(raw_frames)
            except StopIteration:
                break
            n += 1
            frame = as_rgb_frame(raw, f"frame {n} of {self.name}")
            if frame.shape[:2] != (self.height, self.width):
                raise VideoReadError(
                    f"frame {n} of {self.name} is {frame.shape[1]}x{frame.shape[0]} but the stream "
                    f"started with {self.width}x{self.height} frames; all frames must have the same size"
                )
            yield frame
        self._release()

    def _pulled_ahead(self) -> Iterator[Any]:
        items: queue.Queue = queue.Queue(maxsize=self._prefetch)
        self._thread = threading.Thread(target=self._produce, args=(items,), name="masklet-video-stream", daemon=True)
        self._thread.start()
        while True:
            try:
                kind, value = items.get(timeout=0.05)
            except queue.Empty:
                self._check_open()
                continue
            if kind == "frame":
                yield value
            elif kind == "error":
                raise value
            else:
                return

    def _produce(self, items: queue.Queue) -> None:
        """Background thread: move frames from the iterator into `items` until it ends or the stream closes."""
        try:
            for raw in self._frames:
                if not self._offer(items, ("frame", raw)):
                    return
            self._offer(items, ("end", None))
        except BaseException as e:
            self._offer(items, ("error", e))
        finally:
            if self._stop.is_set():
                self._release()

    def _offer(self, items: queue.Queue, item: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _check_open(self) -> None:
        if self._closed:
            raise VideoReadError(f"{self.name} is closed")

    def _release(self) -> None:
        with self._release_lock:
            on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._first = None
        self._stop.set()
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._release()
