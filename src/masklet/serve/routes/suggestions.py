"""'Segment everything' suggestions on a frame; accepting one makes it a new object's mask."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from masklet.serve.annotation import Annotator
from masklet.serve.api_models import (
    AcceptIn,
    AcceptOut,
    FramePath,
    RecordId,
    SuggestionOut,
    SuggestionsOut,
)
from masklet.serve.errors import BadRequest
from masklet.serve.routes.deps import object_out, prompt_out, workspace
from masklet.serve.storage.records import Prompt, PromptKind
from masklet.serve.workspace import Workspace

router = APIRouter(prefix="/api/media/{media_id}/frames/{frame_idx}/suggestions", tags=["suggestions"])


def _suggestions(ws: Workspace, media_id: int, frame_idx: int):
    media = ws.catalog.media(media_id)
    Annotator.check_frame(media, frame_idx)
    return media, ws.suggestions.get(media_id, frame_idx, ws.frames.rgb(media, frame_idx))


@router.get("", response_model=SuggestionsOut, summary="The automatic mask generator's masks on a frame",
            description="Computed once per frame (largest first) and cached; slow on a CPU the first time.")
def get_suggestions(media_id: RecordId, frame_idx: FramePath, ws: Workspace = Depends(workspace)):
    media, found = _suggestions(ws, media_id, frame_idx)
    items = [SuggestionOut(index=i, counts=s.counts, area=s.area, bbox=s.bbox, predicted_iou=s.predicted_iou,
                           stability_score=s.stability_score) for i, s in enumerate(found)]
    return SuggestionsOut(frame_idx=frame_idx, size=(media.height, media.width), suggestions=items)


@router.post("/accept", response_model=AcceptOut, status_code=201,
             summary="Accept a suggestion: a new object prompted with its mask on this frame")
def accept(media_id: RecordId, frame_idx: FramePath, body: AcceptIn, ws: Workspace = Depends(workspace)):
    media, found = _suggestions(ws, media_id, frame_idx)
    if body.index >= len(found):
        raise BadRequest(f"suggestion {body.index} does not exist; frame {frame_idx} has {len(found)} (0..{len(found) - 1})")
    ws.annotator.refuse_while_propagating(media_id)
    obj = ws.catalog.add_object(media_id, body.name)
    stored, frame = ws.annotator.add_prompt(media_id, Prompt(0, PromptKind.MASK, obj.obj_id, frame_idx,
                                                             mask=found[body.index].counts))
    return AcceptOut(object=object_out(obj), prompt=prompt_out(media, stored.step_id, frame_idx, frame))
