"""Video input for the video predictor: frames from files, folders, arrays and live streams.

`open_video` turns any supported source into a `VideoSource`, which hands out frames as
read-only RGB uint8 arrays [H, W, 3]:

- a video file (anything FFmpeg decodes through PyAV: .mp4 .mov .webm .avi .mkv ...),
- a folder of image frames (.jpg .jpeg .png .bmp .webp), ordered by natural sort,
- a list or tuple of frames (arrays, PIL images or image paths), or an array [T, H, W, 3],
- any other iterable of frames, or a stream URL (rtsp://, http://, ...): read in order only.

Nothing is decoded up front. Random-access sources read frames on demand, keep recent ones
in a byte-bounded LRU cache and read a few frames ahead (in either direction) on a
background thread; streams are pulled ahead through a small queue.
"""

from __future__ import annotations

import operator
import os
import queue
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from masklet.io.image import IMAGE_SUFFIXES, ImageReadError, as_rgb, image_files, image_size, read_rgb

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class VideoReadError(ValueError):
    """A video source could not be opened or one of its frames could not be read."""


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
    # PyAV is imported only once a video file or URL is opened.
    if _URL.match(text):
        from masklet.io.video.pyav import open_av_stream

        return open_av_stream(text, prefetch=prefetch)
    path = Path(text)
    if not path.exists():
        raise VideoReadError(f"{path} does not exist: expected a video file or a folder of image frames")
    if path.is_dir():
        return _open_folder(path, prefetch, cache_bytes)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return FrameSequence([path], name=str(path), prefetch=0, cache_bytes=cache_bytes)
    from masklet.io.video.pyav import VideoFile

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


def as_rgb_frame(frame: Any, what: str) -> np.ndarray:
    """`frame` (an image or array as `masklet.io.image.as_rgb` takes, any other array-like such
    as a CPU tensor, or an image path) as a read-only C-contiguous RGB uint8 array [H, W, 3].

    `what` names the frame in error messages.
    """
    try:
        if isinstance(frame, (str, os.PathLike)):
            array = read_rgb(frame)
        else:
            array = as_rgb(np.asarray(frame) if hasattr(frame, "__array__") else frame, what)
    except (TypeError, ValueError) as e:
        raise VideoReadError(str(e)) from None
    array = array.view()
    array.flags.writeable = False
    return array


def _frame_size(frame: Any, what: str) -> tuple[int, int]:
    """(height, width) of a frame, reading only the header of image files."""
    if isinstance(frame, (str, os.PathLike)):
        try:
            return image_size(frame)
        except ImageReadError as e:
            raise VideoReadError(str(e)) from None
    if isinstance(frame, Image.Image):
        return frame.height, frame.width
    height, width = as_rgb_frame(frame, what).shape[:2]
    return height, width


class VideoSource(ABC):
    """Frames of one video, each a read-only RGB uint8 array [H, W, 3] (copy it to modify it).

    `height` and `width` are the frame size, `fps` the frame rate when known, `num_frames`
    the frame count, or None for streams of unknown length. Iterating yields the frames in
    order; sources with `is_seekable` also support `source[i]` (negative i counts from the
    end). Close the source (or use it as a context manager) to release files and threads.
    """

    name: str
    height: int
    width: int
    fps: float | None = None
    num_frames: int | None = None
    is_seekable: bool = False

    def __len__(self) -> int:
        if self.num_frames is None:
            raise TypeError(f"{self.name} is a stream of unknown length: iterate over it instead of calling len()")
        return self.num_frames

    @abstractmethod
    def __iter__(self) -> Iterator[np.ndarray]:
        """The frames in order."""

    @abstractmethod
    def __getitem__(self, index: int) -> np.ndarray:
        """Frame `index`."""

    @abstractmethod
    def close(self) -> None:
        """Release the files and threads behind the source; it cannot be read afterwards."""

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        frames = "unknown length" if self.num_frames is None else f"{self.num_frames} frames"
        fps = "" if self.fps is None else f", {self.fps:g} fps"
        return f"<{type(self).__name__} {self.name}: {frames} of {self.width}x{self.height}{fps}>"


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


class FrameSequence(RandomAccessSource):
    """Random-access frames from a list of arrays, PIL images or image paths, or an array [T, H, W, C].

    Image files are read when their frame is first asked for; every frame must have the
    size of the first one.
    """

    def __init__(
        self,
        frames: Sequence[Any] | np.ndarray,
        *,
        name: str,
        prefetch: int = 4,
        cache_bytes: int = 256 * 2**20,
        fps: float | None = None,
    ):
        if len(frames) == 0:
            raise VideoReadError(f"{name} is empty: a video needs at least one frame")
        if not isinstance(frames, np.ndarray):
            for i, frame in enumerate(frames):
                if not isinstance(frame, (str, os.PathLike, Image.Image)):
                    as_rgb_frame(frame, self._describe(frame, i))
        lazy = not isinstance(frames, np.ndarray) and any(isinstance(f, (str, os.PathLike)) for f in frames)
        height, width = _frame_size(frames[0], self._describe(frames[0], 0))
        super().__init__(
            name=name, num_frames=len(frames), height=height, width=width, fps=fps,
            prefetch=prefetch if lazy else 0, cache_bytes=cache_bytes if lazy else 0,
        )
        self._frames = frames

    @staticmethod
    def _describe(frame: Any, i: int) -> str:
        return f"frame {i} ({frame})" if isinstance(frame, (str, os.PathLike)) else f"frame {i}"

    def _read(self, index: int, backward: bool) -> np.ndarray:
        item = self._frames[index]
        what = self._describe(item, index)
        frame = as_rgb_frame(item, what)
        if frame.shape[:2] != (self.height, self.width):
            raise VideoReadError(
                f"{what} is {frame.shape[1]}x{frame.shape[0]} but {self.name} has frames of "
                f"{self.width}x{self.height} (the size of frame 0); all frames must have the same size"
            )
        return frame


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
