"""Exports of a project (or one of its media) as a file to download."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from masklet.serve.api_models import MAX_ID, RecordId
from masklet.serve.errors import BadRequest
from masklet.serve.export import MediaMasks, export
from masklet.serve.routes.deps import workspace
from masklet.serve.upload_names import media_name
from masklet.serve.workspace import Workspace

router = APIRouter(tags=["export"])

DESCRIPTION = """Formats:
- `coco`: one COCO JSON, an image per frame (`<media>/<frame:05d>.jpg`), an RLE annotation per visible object mask (category id = object id)
- `davis`: a zip of DAVIS palette PNGs, `<media>/<frame:05d>.png`
- `sav`: a zip of SA-V JSON files, `<media>.json`
- `yolo`: a zip of YOLO segmentation labels `labels/<media>/<frame:05d>.txt` and `classes.txt`
- `mp4`: a zip of overlay videos `<media>.mp4` (slow: every frame is decoded and encoded)"""


@router.get("/api/projects/{project_id}/export", summary="Export a project's masks", description=DESCRIPTION,
            response_class=FileResponse,
            responses={200: {"content": {"application/json": {}, "application/zip": {}}}})
def export_project(project_id: RecordId, format: Literal["coco", "davis", "sav", "yolo", "mp4"] = Query("coco"),
                   media_id: int | None = Query(None, ge=1, le=MAX_ID, description="only this media of the project"),
                   ws: Workspace = Depends(workspace)):
    project = ws.catalog.project(project_id)
    media = ws.catalog.media_of(project_id)
    if media_id is not None:
        media = [m for m in media if m.id == media_id]
        if not media:
            raise BadRequest(f"project {project_id} has no media {media_id}")
    items = []
    for m in media:
        names = {o.obj_id: o.name for o in ws.catalog.objects(m.id) if not o.removed}
        items.append(MediaMasks(m, names, ws.annotator.masks(m.id)))
    base = media[0].name if media_id is not None else media_name(project.name, set())
    out = export(items, format, base, ws.data, ws.frames)
    return FileResponse(out.path, media_type=out.media_type, filename=out.filename,
                        background=BackgroundTask(out.path.unlink, missing_ok=True))
