"""Propagation jobs: a worker thread per propagation, cancellable, its frames streamed.

A job waits for its video's session (state "queued"), appends its step to the video's log,
commits the prompts, then tracks frame after frame: each frame's masks are stored (one
transaction, which also counts the frame done) before they are published to the job's
listeners, so what a client receives is on disk. Cancelling stops it after the frame in
progress. A job cancelled while queued, or failing before its prompts were committed, leaves
no step behind.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field

from masklet.errors import MaskletError
from masklet.serve.replay import frame_masks, planned_frames, propagation_results
from masklet.serve.sessions import ServerStopping, SessionPool, WaitCancelled
from masklet.serve.storage.history import History
from masklet.serve.storage.records import Direction, FrameMasks, PropagationState

log = logging.getLogger("masklet.serve")


class PropagationRunning(MaskletError, RuntimeError):
    """A video already has an unfinished propagation."""


@dataclass
class JobEvent:
    """What a job's listeners receive, in order: its state changes and tracked frames."""

    kind: str  # "state" | "frame"
    state: PropagationState
    frames_done: int
    frames_total: int | None
    frame: FrameMasks | None = None
    error: str | None = None


@dataclass
class PropagationJob:
    job_id: int
    media_id: int
    direction: Direction
    start_frame: int | None
    max_frames: int | None
    step_id: int | None = None  # its step in the log, once it started
    state: PropagationState = PropagationState.QUEUED
    frames_done: int = 0
    frames_total: int | None = None
    error: str | None = None
    events: list[JobEvent] = field(default_factory=list)
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    thread: threading.Thread | None = None

    def _publish(self, kind: str, frame: FrameMasks | None = None) -> None:
        with self.changed:
            self.events.append(JobEvent(kind, self.state, self.frames_done, self.frames_total, frame, self.error))
            self.changed.notify_all()

    def events_after(self, seen: int, timeout: float) -> list[JobEvent]:
        """The events after the first `seen`, waiting up to `timeout` s for one."""
        with self.changed:
            if len(self.events) <= seen and not self.state.finished:
                self.changed.wait(timeout)
            return self.events[seen:]

    def cancel(self) -> None:
        self.cancel_requested.set()

    def run(self, pool: SessionPool, history: History) -> None:
        committed = False
        try:
            with pool.use(self.media_id, wait_s=float("inf"), cancelled=self.cancel_requested.is_set) as live:
                self.step_id = history.add_propagation(self.media_id, self.direction, self.start_frame,
                                                       self.max_frames).step_id
                live.signature = history.signature(self.media_id)
                live.session.commit_prompts()
                committed = True
                self.frames_total = planned_frames(live.session, self.direction, self.start_frame, self.max_frames)
                self.state = PropagationState.RUNNING
                self._publish("state")
                for result in propagation_results(live.session, self.direction, self.start_frame, self.max_frames):
                    frame = frame_masks(result)
                    history.record_frame(self.media_id, self.step_id, frame)
                    self.frames_done += 1
                    self._publish("frame", frame)
                    if self.cancel_requested.is_set():
                        break
            self.state = PropagationState.CANCELLED if self.cancel_requested.is_set() else PropagationState.DONE
        except (WaitCancelled, ServerStopping):
            self.state = PropagationState.CANCELLED
        except Exception as e:  # the failure is reported to the listeners and stored with the step
            log.exception("propagation job %s on media %s failed", self.job_id, self.media_id)
            self.state, self.error = PropagationState.FAILED, str(e) or type(e).__name__
        if self.step_id is not None:
            if committed:
                history.set_state(self.step_id, self.state, self.error)
            else:
                history.delete_step(self.step_id)
        self._publish("state")


class JobRegistry:
    """The propagation jobs of this server, at most one unfinished per video."""

    def __init__(self, pool: SessionPool, history: History) -> None:
        self.pool, self.history = pool, history
        self._jobs: dict[int, PropagationJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def active(self, media_id: int) -> PropagationJob | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.media_id == media_id and not j.state.finished), None)

    def latest(self, media_id: int) -> PropagationJob | None:
        """The video's unfinished job, else its last one (jobs of this server run only)."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.media_id == media_id]
        return max(jobs, key=lambda j: (not j.state.finished, j.job_id), default=None)

    def get(self, job_id: int) -> PropagationJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, media_id: int, direction: Direction, start_frame: int | None,
              max_frames: int | None) -> PropagationJob:
        with self._lock:
            if any(j.media_id == media_id and not j.state.finished for j in self._jobs.values()):
                raise PropagationRunning(f"video {media_id} is already propagating; wait for it or cancel it")
            for old in [k for k, j in self._jobs.items() if j.media_id == media_id]:
                del self._jobs[old]
            job_id = next(self._ids)
            job = self._jobs[job_id] = PropagationJob(job_id, media_id, direction, start_frame, max_frames)
        job.thread = threading.Thread(target=job.run, args=(self.pool, self.history),
                                      name=f"masklet-propagate-{job.job_id}", daemon=True)
        job.thread.start()
        return job

    def cancel_all(self) -> list[PropagationJob]:
        """Cancel every job (each stops after the frame in progress); returns them."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        return jobs

    def shutdown(self, timeout: float = 30.0) -> None:
        """Cancel every job and wait for them to stop."""
        for job in self.cancel_all():
            if job.thread is not None:
                job.thread.join(timeout)
