"""Objects of a media and their prompts: clicks and boxes, masks, clearing a frame, removal."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from masklet.serve.api_models import (
    ClicksIn,
    FrameIn,
    MaskIn,
    ObjectIn,
    ObjectOut,
    PromptOut,
    RecordId,
)
from masklet.serve.routes.deps import object_out, prompt_out, workspace
from masklet.serve.storage.records import Prompt, PromptKind
from masklet.serve.workspace import Workspace

router = APIRouter(prefix="/api/media/{media_id}/objects", tags=["objects and prompts"])


@router.get("", response_model=list[ObjectOut], summary="List a media's objects (removed ones flagged)")
def list_objects(media_id: RecordId, ws: Workspace = Depends(workspace)):
    ws.catalog.media(media_id)
    return [object_out(o) for o in ws.catalog.objects(media_id)]


@router.post("", response_model=ObjectOut, status_code=201, summary="Add an object (ids 1..254, never reused)")
def add_object(media_id: RecordId, body: ObjectIn | None = None, ws: Workspace = Depends(workspace)):
    return object_out(ws.catalog.add_object(media_id, body.name if body else None))


@router.patch("/{obj_id}", response_model=ObjectOut, summary="Rename an object")
def rename_object(media_id: RecordId, obj_id: RecordId, body: ObjectIn, ws: Workspace = Depends(workspace)):
    ws.catalog.media(media_id)
    return object_out(ws.catalog.rename_object(media_id, obj_id, body.name or f"object {obj_id}"))


@router.delete("/{obj_id}", response_model=ObjectOut, summary="Remove an object (a step: undo brings it back)")
def remove_object(media_id: RecordId, obj_id: RecordId, ws: Workspace = Depends(workspace)):
    ws.annotator.remove_object(media_id, obj_id)
    return object_out(ws.catalog.object(media_id, obj_id))


def _prompt(ws: Workspace, media_id: int, prompt: Prompt) -> PromptOut:
    stored, frame = ws.annotator.add_prompt(media_id, prompt)
    return prompt_out(ws.catalog.media(media_id), stored.step_id, stored.frame_idx, frame)


@router.post("/{obj_id}/clicks", response_model=PromptOut, summary="Positive / negative clicks and/or a box on a frame",
             description="Stored (with the masks it produced) before the response. Returns every object's mask on "
                         "the frame. A correction on a propagated frame refines the object there; propagate again "
                         "to carry it on.")
def add_clicks(media_id: RecordId, obj_id: RecordId, body: ClicksIn, ws: Workspace = Depends(workspace)):
    points = None if body.points is None else [list(p) for p in body.points]
    box = None if body.box is None else list(body.box)
    return _prompt(ws, media_id, Prompt(0, PromptKind.CLICKS, obj_id, body.frame_idx, points, body.labels, box,
                                        None, body.clear_old_points))


@router.post("/{obj_id}/mask", response_model=PromptOut, summary="A mask (COCO RLE) for the object on a frame")
def add_mask(media_id: RecordId, obj_id: RecordId, body: MaskIn, ws: Workspace = Depends(workspace)):
    return _prompt(ws, media_id, Prompt(0, PromptKind.MASK, obj_id, body.frame_idx, mask=body.counts))


@router.post("/{obj_id}/clear", response_model=PromptOut, summary="Forget the object's prompts on a frame")
def clear_frame(media_id: RecordId, obj_id: RecordId, body: FrameIn, ws: Workspace = Depends(workspace)):
    return _prompt(ws, media_id, Prompt(0, PromptKind.CLEAR, obj_id, body.frame_idx))
