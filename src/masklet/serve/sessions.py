"""Model sessions of the videos being annotated, bounded by an LRU over count and memory.

A `LiveSession` is one video's `TrackingSession` (with the open video it reads), in step with
the video's stored log: `signature` is the log's (count, last id) it has applied. The pool
keeps at most `max_sessions` of them and, whenever one is released, evicts the least recently
used idle ones until the memory they hold (outputs and memories, cached image features and
decoded frames) is within `max_bytes`. An evicted session, or one whose log changed (undo,
redo, another server), is rebuilt from the stored steps on its next use.

One user at a time: `use(media_id)` waits while another request or a propagation holds the
same video, and while every slot is held by busy sessions; it gives up with `SessionBusy`
after `wait_s`, and at once with `ServerStopping` once the server is stopping. A block that
raises drops its session, so no half-applied change outlives it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from masklet.errors import MaskletError
from masklet.io.video import VideoSource
from masklet.predict.session import TrackingSession


class SessionBusy(MaskletError, RuntimeError):
    """The video's session (or every session slot) stayed busy for too long."""


class WaitCancelled(MaskletError, RuntimeError):
    """The caller gave up waiting for a session."""


class ServerStopping(MaskletError, RuntimeError):
    """The server is stopping: a request that would wait for a session is refused at once."""


@dataclass
class LiveSession:
    media_id: int
    session: TrackingSession
    video: VideoSource
    signature: tuple[int, int]  # (count, last id) of the stored steps applied

    def nbytes(self) -> int:
        """Memory held: per-frame outputs and memories, cached image features, decoded frames."""
        cached_frames = getattr(self.video, "cached_bytes", 0)
        return self.session.nbytes() + self.session.frames.cached_bytes() + cached_frames

    def close(self) -> None:
        self.video.close()


@dataclass(frozen=True)
class PoolStats:
    sessions: int  # resident now
    busy: int  # in use now
    bytes: int  # held by the resident sessions, as of their last release
    max_sessions: int
    max_bytes: int
    peak_sessions: int
    builds: int  # sessions built (replayed from the log)
    evictions: int


class SessionPool:
    def __init__(self, build: Callable[[int], LiveSession], signature: Callable[[int], tuple[int, int]],
                 max_sessions: int, max_bytes: int, wait_s: float = 30.0) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
        self._build, self._signature = build, signature
        self.max_sessions, self.max_bytes, self.wait_s = max_sessions, max_bytes, wait_s
        self._sessions: OrderedDict[int, LiveSession] = OrderedDict()  # least recently used first
        self._bytes: dict[int, int] = {}
        self._busy: set[int] = set()
        self._reserved = 0  # slots held by sessions being built
        self._changed = threading.Condition()
        self._peak = self._builds = self._evictions = 0
        self._stopping = False

    def stats(self) -> PoolStats:
        with self._changed:
            return PoolStats(len(self._sessions), len(self._busy), sum(self._bytes.values()), self.max_sessions,
                             self.max_bytes, self._peak, self._builds, self._evictions)

    def _wait(self, ready: Callable[[], bool], what: str, deadline: float, cancelled: Callable[[], bool] | None) -> None:
        """Wait (holding `_changed`) until `ready()`."""
        while True:
            if cancelled is not None and cancelled():
                raise WaitCancelled(what)
            if ready():
                return
            if self._stopping:
                raise ServerStopping("the server is stopping; retry this request once it is back")
            left = deadline - time.monotonic()
            if left <= 0:
                raise SessionBusy(what)
            self._changed.wait(min(left, 0.2))

    @contextmanager
    def hold(self, media_id: int, wait_s: float | None = None,
             cancelled: Callable[[], bool] | None = None) -> Iterator[float]:
        """The video for this caller alone (no session built); yields the wait deadline."""
        deadline = time.monotonic() + (self.wait_s if wait_s is None else wait_s)
        with self._changed:
            self._wait(lambda: media_id not in self._busy, f"video {media_id} is busy (a propagation or another "
                       "request is using it); wait for it to finish or cancel the propagation", deadline, cancelled)
            self._busy.add(media_id)
        try:
            yield deadline
        finally:
            with self._changed:
                self._busy.discard(media_id)
                if media_id in self._sessions:
                    self._bytes[media_id] = self._sessions[media_id].nbytes()
                self._evict_over_budget()
                self._changed.notify_all()

    @contextmanager
    def use(self, media_id: int, wait_s: float | None = None,
            cancelled: Callable[[], bool] | None = None) -> Iterator[LiveSession]:
        """The video's session, in step with its stored log, for this caller alone."""
        with self.hold(media_id, wait_s, cancelled) as deadline:
            live = None
            try:
                live = self._resident(media_id, deadline, cancelled)
                yield live
            except BaseException:
                if live is not None:
                    self.drop(media_id)
                raise

    def _resident(self, media_id: int, deadline: float, cancelled) -> LiveSession:
        with self._changed:
            live = self._sessions.get(media_id)
            if live is not None:
                self._sessions.move_to_end(media_id)
        if live is not None:
            if live.signature == self._signature(media_id):
                return live
            self.drop(media_id)
        with self._changed:
            self._wait(self._free_slot, f"all {self.max_sessions} sessions are busy; retry when a propagation "
                       "has finished (or start the server with a larger --max-sessions)", deadline, cancelled)
            self._reserved += 1
        try:
            live = self._build(media_id)
        finally:
            with self._changed:
                self._reserved -= 1
        with self._changed:
            self._sessions[media_id] = live
            self._bytes[media_id] = live.nbytes()
            self._builds += 1
            self._peak = max(self._peak, len(self._sessions))
        return live

    def _free_slot(self) -> bool:
        """A slot is free, after evicting the least recently used idle session if needed."""
        while len(self._sessions) + self._reserved >= self.max_sessions:
            idle = next((m for m in self._sessions if m not in self._busy), None)
            if idle is None:
                return False
            self._evict(idle)
        return True

    def _evict_over_budget(self) -> None:
        for media_id in [m for m in self._sessions if m not in self._busy]:
            if sum(self._bytes.values()) <= self.max_bytes:
                return
            self._evict(media_id)

    def _evict(self, media_id: int) -> None:
        live = self._sessions.pop(media_id)
        self._bytes.pop(media_id, None)
        self._evictions += 1
        live.close()

    def stop_waiting(self) -> None:
        """From now on a caller that would wait for a video or a slot gets ServerStopping."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    def drop(self, media_id: int) -> None:
        """Forget a video's session (rebuilt from its log when next used)."""
        with self._changed:
            if media_id in self._sessions:
                self._evict(media_id)
                self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            for media_id in list(self._sessions):
                self._evict(media_id)
