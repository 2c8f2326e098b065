"""Video files and network streams decoded with PyAV (FFmpeg).

A video file is indexed on opening by one pass over its packets (no decoding): that gives
the exact frame count and, for every frame, its presentation timestamp and the keyframe to
start decoding from. Frame i is the i-th frame in presentation order, the same frame a
plain sequential decode yields i-th. (The container's own frame count is not relied on:
many formats have none, MP4 sample counts include frames that edit lists drop, and the
pass is needed for the timestamps anyway. It reads packets only and is fast: about 6 ms
for 200 frames of 960x540 H.264.)

Reading continues the running decoder when the asked frame lies ahead of it in the same
GOP; otherwise it seeks to the keyframe at or before the frame and decodes forward. When
frames are walked backwards, that forward decode also caches the frames just before the
target (as many as the cache budget allows), so each GOP is decoded about once per cache
window instead of once per frame.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.video.stream import VideoStream

from masklet.io.video.random_access import RandomAccessSource
from masklet.io.video.source import VideoReadError
from masklet.io.video.stream import FrameStream

SUPPORTED_FORMATS = "MP4, MOV, WebM, MKV, AVI and the other formats FFmpeg reads"


def _open_container(target: str, timeout: tuple[float, float | None] | None = None) -> InputContainer:
    try:
        return av.open(target, mode="r", timeout=timeout)
    except (av.FFmpegError, UnicodeDecodeError) as e:  # FFmpeg's error, or metadata in no known encoding
        raise VideoReadError(f"cannot read {target} as a video ({e}); supported are {SUPPORTED_FORMATS}") from e


def _video_stream(container: InputContainer, target: str) -> VideoStream:
    """The first video stream of `container`, set up for multithreaded decoding."""
    if not container.streams.video:
        raise VideoReadError(f"{target} has no video stream (it may be audio only, or a video with zero frames)")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise VideoReadError(f"{target}: FFmpeg has no decoder for its video stream; it may be corrupt or in an unknown codec")
    stream.thread_type = "AUTO"
    return stream


def _frame_rate(stream: VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else None


def _timestamp(item: av.Packet | av.VideoFrame) -> int | None:
    return item.pts if item.pts is not None else item.dts


@dataclass
class FrameIndex:
    """Where each frame of a video stream is: presentation timestamps and keyframes.

    `timestamps[i]` is frame i's presentation timestamp; None when the packets carry no
    usable (present and distinct) timestamps, and frames are then counted in decode output
    order from the start. `keyframes` are the (ascending) frame indices decoding can start
    from; seeking goes to their presentation timestamps.
    """

    num_frames: int
    timestamps: list[int] | None = None
    keyframes: list[int] = field(default_factory=list)
    position: dict[int, int] = field(init=False, repr=False)  # timestamp -> frame index

    def __post_init__(self) -> None:
        self.position = {ts: i for i, ts in enumerate(self.timestamps or ())}


def index_frames(container: InputContainer, stream: VideoStream, target: str) -> FrameIndex:
    """Index the frames of `stream` with one pass over its packets, without decoding."""
    packets: list[tuple[int | None, bool]] = []
    try:
        for packet in container.demux(stream):
            if packet.size and not packet.is_discard:
                packets.append((_timestamp(packet), packet.is_keyframe))
    except av.FFmpegError as e:
        message = f"reading the packets of {target} failed ({e}); the file may be truncated or corrupt"
        raise VideoReadError(message) from e
    if not packets:
        raise VideoReadError(f"{target} has a video stream with zero frames")
    stamps = [ts for ts, _ in packets]
    if None in stamps or len(set(stamps)) != len(stamps):
        return FrameIndex(num_frames=len(packets))
    index = FrameIndex(num_frames=len(packets), timestamps=sorted(stamps))
    index.keyframes = sorted(index.position[ts] for ts, key in packets if key)
    return index


class VideoFile(RandomAccessSource):
    """Random-access frames of a video file, decoded on demand with PyAV.

    `frames_decoded` counts every frame the decoder has produced, cached or not.
    """

    def __init__(self, path: str | Path, *, prefetch: int = 4, cache_bytes: int = 256 * 2**20):
        self.path = Path(path)
        container = _open_container(str(self.path))
        try:
            stream = _video_stream(container, str(self.path))
            index = index_frames(container, stream, str(self.path))
        except BaseException:
            container.close()
            raise
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            container.close()
            raise VideoReadError(f"{self.path} does not state its frame size; it may be corrupt")
        super().__init__(
            name=str(self.path), num_frames=index.num_frames, height=height, width=width,
            fps=_frame_rate(stream), prefetch=prefetch, cache_bytes=cache_bytes,
        )
        self.frames_decoded = 0
        self._index = index
        self._container = container
        self._stream = stream
        self._lock = threading.Lock()
        self._decoder: Iterator[av.VideoFrame] | None = None
        self._next = 0
        self._floor = 0
        self._synced = False
        self._backward_window = max(1, cache_bytes // (height * width * 3) - prefetch - 1)
        try:
            self._fetch(0, backward=False)
        except BaseException:
            self.close()
            raise

    def _read(self, index: int, backward: bool) -> np.ndarray:
        with self._lock:
            if self._closed:
                raise VideoReadError(f"{self.name} is closed")
            cached = self._cache.get(index)  # a background read may have got it while we waited
            if cached is not None:
                return cached
            keep_from = index - self._backward_window + 1 if backward else index
            keys = self._index.keyframes
            key_pos = bisect_right(keys, index) - 1
            start = keys[key_pos] if key_pos >= 0 else 0
            if self._decoder is not None and start <= self._next <= index:
                frame = self._decode_to(index, keep_from)
                if frame is not None:
                    return frame
            # The keyframe at or before the frame; should the seek land past it, the one
            # before; then the start of the file.
            for restart_pos in sorted({key_pos, max(key_pos - 1, -1), -1}, reverse=True):
                self._restart(restart_pos)
                frame = self._decode_to(index, keep_from)
                if frame is not None:
                    return frame
        raise VideoReadError(
            f"frame {index} of {self.name} could not be decoded: the decoder skipped it or the file ends early "
            f"(its index lists {self.num_frames} frames); the file may be damaged"
        )

    def _restart(self, key_pos: int) -> None:
        """Point the decoder at keyframe `key_pos` of the index, or at the very start for -1."""
        self._decoder = None
        try:
            if key_pos < 0:
                self._container.close()
                self._container = _open_container(str(self.path))
                self._stream = _video_stream(self._container, str(self.path))
                self._next = self._floor = 0
            else:
                key = self._index.keyframes[key_pos]
                self._container.seek(self._index.timestamps[key], stream=self._stream, backward=True)
                self._next = self._floor = key
        except av.FFmpegError as e:
            raise VideoReadError(f"seeking in {self.name} failed ({e}); the file may be damaged") from e
        self._decoder = self._container.decode(self._stream)
        self._synced = False

    def _decode_to(self, index: int, keep_from: int) -> np.ndarray | None:
        """Decode up to frame `index` and return it, caching the frames from `keep_from` on.

        Returns None when the decoder passes `index` without producing it, runs out, or
        starts after a seek somewhere other than the keyframe it was pointed at.
        """
        try:
            for frame in self._decoder:
                self.frames_decoded += 1
                if self._index.timestamps is None:
                    j = self._next
                else:
                    j = self._index.position.get(_timestamp(frame), -1)
                if j < self._floor:
                    continue
                if not self._synced:
                    if j != self._floor:
                        return None
                    self._synced = True
                self._next = j + 1
                if j == index:
                    return self._to_rgb(frame, j)
                if j > index:
                    return None
                if j >= keep_from and j not in self._cache:
                    self._cache.put(j, self._to_rgb(frame, j))
        except av.FFmpegError as e:
            self._decoder = None
            message = f"decoding {self.name} failed near frame {self._next} ({e}); the file may be damaged"
            raise VideoReadError(message) from e
        self._decoder = None
        return None

    def _to_rgb(self, frame: av.VideoFrame, index: int) -> np.ndarray:
        if (frame.height, frame.width) != (self.height, self.width):
            raise VideoReadError(
                f"frame {index} of {self.name} is {frame.width}x{frame.height} but the video is "
                f"{self.width}x{self.height}; videos whose frame size changes are not supported"
            )
        array = frame.to_ndarray(format="rgb24")
        array.flags.writeable = False
        return array

    def close(self) -> None:
        super().close()
        with self._lock:
            self._decoder = None
            self._container.close()


def _stream_frames(container: InputContainer, stream: VideoStream, target: str) -> Iterator[np.ndarray]:
    try:
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24")
    except av.FFmpegError as e:
        raise VideoReadError(f"decoding the stream {target} failed ({e})") from e


def open_av_stream(url: str, *, prefetch: int = 4, open_timeout: float = 30.0) -> FrameStream:
    """Frames of a network stream or URL (rtsp://, http://, ...), readable in order only."""
    container = _open_container(url, timeout=(open_timeout, None))
    try:
        stream = _video_stream(container, url)
    except VideoReadError:
        container.close()
        raise
    return FrameStream(
        _stream_frames(container, stream, url), name=url, fps=_frame_rate(stream),
        prefetch=prefetch, on_close=container.close,
    )
