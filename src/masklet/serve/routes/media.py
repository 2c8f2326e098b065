"""Media of a project: upload (a video, image files or a zip of frames), list, delete, frames."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import FileResponse, Response

from masklet.serve.annotation import Annotator
from masklet.serve.api_models import FramePath, MediaOut, RecordId
from masklet.serve.ingest import ACCEPTED, UploadPart, ingest
from masklet.serve.routes.deps import media_out, workspace
from masklet.serve.upload_names import media_name
from masklet.serve.workspace import Workspace

router = APIRouter(tags=["media"])
FRAME_CACHE = "private, max-age=3600"


@router.post("/api/projects/{project_id}/media", response_model=MediaOut, status_code=201,
             summary="Upload a video or an image folder",
             description=f"Multipart field `files`: {ACCEPTED}. Frames of an image folder are ordered by their "
                         "names (natural order); a video is read through PyAV. Limits on bytes, frames, duration "
                         "and pixels give 413, a wrong or unreadable type 415.")
def upload_media(project_id: RecordId, files: list[UploadFile] = File(..., description=ACCEPTED),
                 ws: Workspace = Depends(workspace)):
    ws.catalog.project(project_id)
    parts = [UploadPart(f.filename, f.content_type, f.file) for f in files]
    stored = ingest(parts, ws.data, ws.settings.uploads)
    try:
        name = media_name(stored.name_hint, ws.catalog.media_names(project_id))
        media = ws.catalog.add_media(project_id, name, stored.kind, stored.path, stored.num_frames, stored.width,
                                     stored.height, stored.fps)
    except BaseException:
        ws.data.remove("/".join(stored.path.split("/")[:2]))
        raise
    return media_out(media)


@router.get("/api/projects/{project_id}/media", response_model=list[MediaOut], summary="List a project's media")
def list_media(project_id: RecordId, ws: Workspace = Depends(workspace)):
    ws.catalog.project(project_id)
    return [media_out(m) for m in ws.catalog.media_of(project_id)]


@router.get("/api/media/{media_id}", response_model=MediaOut, summary="A media")
def get_media(media_id: RecordId, ws: Workspace = Depends(workspace)):
    return media_out(ws.catalog.media(media_id))


@router.delete("/api/media/{media_id}", status_code=204, summary="Delete a media and its annotations")
def delete_media(media_id: RecordId, ws: Workspace = Depends(workspace)):
    ws.catalog.media(media_id)
    ws.annotator.refuse_while_propagating(media_id)
    ws.delete_media_files(ws.catalog.delete_media(media_id))


@router.get("/api/media/{media_id}/frames/{frame_idx}", summary="A frame as an image",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}})
def get_frame(media_id: RecordId, frame_idx: FramePath, ws: Workspace = Depends(workspace)):
    media = ws.catalog.media(media_id)
    Annotator.check_frame(media, frame_idx)
    content, media_type = ws.frames.encoded(media, frame_idx)
    headers = {"Cache-Control": FRAME_CACHE}
    if isinstance(content, bytes):
        return Response(content, media_type=media_type, headers=headers)
    return FileResponse(content, media_type=media_type, headers=headers)
