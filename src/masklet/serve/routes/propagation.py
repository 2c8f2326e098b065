"""Propagation: start (forward, backward or both), follow as server-sent events, cancel.

`GET /api/propagations/{job_id}/events` streams `state` events (queued, running, done,
cancelled, failed) and one `frame` event per tracked frame with every object's mask on it;
each frame is stored before its event is sent. The stream ends with the job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from masklet.serve.api_models import JobOut, PropagationIn, RecordId
from masklet.serve.errors import NotFound
from masklet.serve.propagation import JobEvent, PropagationJob
from masklet.serve.routes.deps import frame_masks_out, workspace
from masklet.serve.workspace import Workspace

router = APIRouter(tags=["propagation"])
KEEPALIVE_S = 10.0


def job_out(job: PropagationJob) -> JobOut:
    return JobOut(job_id=job.job_id, media_id=job.media_id, step_id=job.step_id, direction=job.direction,
                  state=job.state, frames_done=job.frames_done, frames_total=job.frames_total, error=job.error)


def _job(ws: Workspace, job_id: int) -> PropagationJob:
    job = ws.jobs.get(job_id)
    if job is None:
        raise NotFound(f"no propagation job {job_id} (jobs are kept until the video's next propagation)")
    return job


@router.post("/api/media/{media_id}/propagations", response_model=JobOut, status_code=202,
             summary="Start propagating the prompts through the video",
             description="One propagation per video at a time (409 otherwise). Follow it with "
                         "GET /api/propagations/{job_id}/events.")
def start(media_id: RecordId, body: PropagationIn | None = None, ws: Workspace = Depends(workspace)):
    body = body or PropagationIn()
    return job_out(ws.annotator.start_propagation(media_id, body.direction, body.start_frame, body.max_frames))


@router.get("/api/propagations/{job_id}", response_model=JobOut, summary="A propagation's state")
def get_job(job_id: RecordId, ws: Workspace = Depends(workspace)):
    return job_out(_job(ws, job_id))


@router.get("/api/media/{media_id}/propagation", response_model=JobOut | None,
            summary="The video's running (else latest) propagation of this server run, or null")
def latest_job(media_id: RecordId, ws: Workspace = Depends(workspace)):
    ws.catalog.media(media_id)
    job = ws.jobs.latest(media_id)
    return None if job is None else job_out(job)


@router.post("/api/propagations/{job_id}/cancel", response_model=JobOut,
             summary="Cancel a propagation (it stops after the frame in progress; stored frames stay)")
def cancel(job_id: RecordId, ws: Workspace = Depends(workspace)):
    job = _job(ws, job_id)
    job.cancel()
    return job_out(job)


def _event_text(event: JobEvent) -> str:
    data = {"state": event.state.value, "frames_done": event.frames_done, "frames_total": event.frames_total,
            "error": event.error}
    if event.frame is not None:
        data["frame_idx"] = event.frame.frame_idx
        data["masks"] = [m.model_dump() for m in frame_masks_out(event.frame)]
    return f"event: {event.kind}\ndata: {json.dumps(data)}\n\n"


def _stream(job: PropagationJob) -> Iterator[str]:
    seen = 0
    while True:
        events = job.events_after(seen, KEEPALIVE_S)
        if not events:
            yield ": keep-alive\n\n"
            continue
        for event in events:
            yield _event_text(event)
        seen += len(events)
        last = events[-1]
        if last.kind == "state" and last.state.finished:
            return


@router.get("/api/propagations/{job_id}/events", summary="Server-sent events of a propagation",
            response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
def events(job_id: RecordId, ws: Workspace = Depends(workspace)):
    job = _job(ws, job_id)
    return StreamingResponse(_stream(job), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
