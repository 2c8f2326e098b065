"""What the routes share: the workspace of the running app and record -> response conversions."""

from __future__ import annotations

from fastapi import Request

from masklet.io.palette import object_colour
from masklet.serve.api_models import MaskOut, MediaOut, ObjectOut, ProjectOut, PromptOut
from masklet.serve.storage.records import (
    AnnotatedObject,
    FrameMasks,
    Media,
    Project,
    StoredMask,
)
from masklet.serve.workspace import Workspace


def workspace(request: Request) -> Workspace:
    return request.app.state.workspace


def project_out(project: Project) -> ProjectOut:
    return ProjectOut(id=project.id, name=project.name, created_at=project.created_at)


def media_out(media: Media) -> MediaOut:
    return MediaOut(id=media.id, project_id=media.project_id, name=media.name, kind=media.kind.value,
                    num_frames=media.num_frames, width=media.width, height=media.height, fps=media.fps,
                    created_at=media.created_at)


def object_out(obj: AnnotatedObject) -> ObjectOut:
    r, g, b = object_colour(obj.obj_id)
    return ObjectOut(obj_id=obj.obj_id, name=obj.name, removed=obj.removed, color=f"#{r:02x}{g:02x}{b:02x}")


def stored_mask_out(mask: StoredMask) -> MaskOut:
    return MaskOut(obj_id=mask.obj_id, frame_idx=mask.frame_idx, counts=mask.counts, score=mask.score,
                   visible=mask.visible)


def frame_masks_out(frame: FrameMasks | None) -> list[MaskOut]:
    if frame is None:
        return []
    return [MaskOut(obj_id=m.obj_id, frame_idx=frame.frame_idx, counts=m.counts, score=m.score, visible=m.score > 0)
            for m in frame.masks]


def prompt_out(media: Media, step_id: int, frame_idx: int | None, frame: FrameMasks | None) -> PromptOut:
    return PromptOut(step_id=step_id, frame_idx=frame_idx, size=(media.height, media.width),
                     masks=frame_masks_out(frame))
