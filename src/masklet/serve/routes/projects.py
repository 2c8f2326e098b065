"""Projects: create, list, rename, delete (with their media)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from masklet.serve.api_models import ProjectIn, ProjectOut, RecordId
from masklet.serve.routes.deps import project_out, workspace
from masklet.serve.workspace import Workspace

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.get("", response_model=list[ProjectOut], summary="List projects")
def list_projects(ws: Workspace = Depends(workspace)):
    return [project_out(p) for p in ws.catalog.projects()]


@router.post("", response_model=ProjectOut, status_code=201, summary="Create a project")
def create_project(body: ProjectIn, ws: Workspace = Depends(workspace)):
    return project_out(ws.catalog.create_project(body.name))


@router.get("/{project_id}", response_model=ProjectOut, summary="A project")
def get_project(project_id: RecordId, ws: Workspace = Depends(workspace)):
    return project_out(ws.catalog.project(project_id))


@router.patch("/{project_id}", response_model=ProjectOut, summary="Rename a project")
def rename_project(project_id: RecordId, body: ProjectIn, ws: Workspace = Depends(workspace)):
    return project_out(ws.catalog.rename_project(project_id, body.name))


@router.delete("/{project_id}", status_code=204, summary="Delete a project, its media and annotations")
def delete_project(project_id: RecordId, ws: Workspace = Depends(workspace)):
    for media in ws.catalog.media_of(project_id):
        ws.annotator.refuse_while_propagating(media.id)
    for media in ws.catalog.delete_project(project_id):
        ws.delete_media_files(media)
