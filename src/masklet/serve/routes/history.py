"""What a media shows (masks per frame) and its undo / redo history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from masklet.serve.annotation import Annotator
from masklet.serve.api_models import HistoryOut, MasksOut, RecordId
from masklet.serve.routes.deps import stored_mask_out, workspace
from masklet.serve.workspace import Workspace

router = APIRouter(prefix="/api/media/{media_id}", tags=["masks and history"])


@router.get("/masks", response_model=MasksOut, summary="The masks shown now (one frame, or every frame)")
def get_masks(media_id: RecordId, frame_idx: int | None = Query(None, ge=0, le=10_000_000), ws: Workspace = Depends(workspace)):
    media = ws.catalog.media(media_id)
    if frame_idx is not None:
        Annotator.check_frame(media, frame_idx)
    masks = ws.annotator.masks(media_id, frame_idx)
    ordered = [masks[k] for k in sorted(masks, key=lambda k: (k[1], k[0]))]
    return MasksOut(size=(media.height, media.width), masks=[stored_mask_out(m) for m in ordered])


def _history(ws: Workspace, media_id: int, changed: list[int] | None = None) -> HistoryOut:
    state = ws.annotator.history_state(media_id)
    return HistoryOut(steps=state.steps, can_undo=state.can_undo, can_redo=state.can_redo, changed=changed or [])


@router.get("/history", response_model=HistoryOut, summary="Undo / redo state")
def get_history(media_id: RecordId, ws: Workspace = Depends(workspace)):
    return _history(ws, media_id)


@router.post("/undo", response_model=HistoryOut, summary="Undo the last prompt (and the propagations after it)")
def undo(media_id: RecordId, ws: Workspace = Depends(workspace)):
    return _history(ws, media_id, ws.annotator.undo(media_id))


@router.post("/redo", response_model=HistoryOut, summary="Redo the last undone prompt (and its propagations)")
def redo(media_id: RecordId, ws: Workspace = Depends(workspace)):
    return _history(ws, media_id, ws.annotator.redo(media_id))
