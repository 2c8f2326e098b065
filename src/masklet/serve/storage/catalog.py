"""Projects, their media (videos and frame folders) and the objects annotated on each."""

from __future__ import annotations

import time

from sqlalchemy import Engine, and_, delete, exists, func, insert, select, update

from masklet.errors import MaskletError
from masklet.io.davis import MAX_OBJECT_ID
from masklet.serve.storage import schema
from masklet.serve.storage.dialects import lock_row
from masklet.serve.storage.records import (
    AnnotatedObject,
    Media,
    MediaKind,
    Project,
    PromptKind,
)


class MissingRecord(MaskletError, LookupError):
    """A project, media or object that does not exist; the message names it."""


class RecordConflict(MaskletError, ValueError):
    """A write that the stored records do not allow; the message says why."""


def _project(row) -> Project:
    return Project(id=row.id, name=row.name, created_at=row.created_at)


def _media(row) -> Media:
    return Media(
        id=row.id, project_id=row.project_id, name=row.name, kind=MediaKind(row.kind), path=row.path,
        num_frames=row.num_frames, width=row.width, height=row.height, fps=row.fps, created_at=row.created_at,
    )


def _removal_step(media_id, obj_id):
    """An active "remove" prompt of the object (undoing it brings the object back)."""
    s, p = schema.steps, schema.prompts
    return (
        select(p.c.step_id)
        .join(s, s.c.id == p.c.step_id)
        .where(s.c.media_id == media_id, ~s.c.undone, p.c.kind == PromptKind.REMOVE.value, p.c.obj_id == obj_id)
    )


class Catalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ------------------------------------------------------------------ projects

    def create_project(self, name: str) -> Project:
        with self.engine.begin() as db:
            created = time.time()
            project_id = db.execute(insert(schema.projects).values(name=name, created_at=created)).inserted_primary_key[0]
        return Project(project_id, name, created)

    def projects(self) -> list[Project]:
        with self.engine.connect() as db:
            return [_project(r) for r in db.execute(select(schema.projects).order_by(schema.projects.c.id))]

    def project(self, project_id: int) -> Project:
        with self.engine.connect() as db:
            row = db.execute(select(schema.projects).where(schema.projects.c.id == project_id)).first()
        if row is None:
            raise MissingRecord(f"no project {project_id}; GET /api/projects lists them")
        return _project(row)

    def rename_project(self, project_id: int, name: str) -> Project:
        self.project(project_id)
        with self.engine.begin() as db:
            db.execute(update(schema.projects).where(schema.projects.c.id == project_id).values(name=name))
        return self.project(project_id)

    def delete_project(self, project_id: int) -> list[Media]:
        """Delete a project with its media records; returns the media (their files are the caller's)."""
        self.project(project_id)
        media = self.media_of(project_id)
        with self.engine.begin() as db:
            db.execute(delete(schema.projects).where(schema.projects.c.id == project_id))
        return media

    # ------------------------------------------------------------------ media

    def add_media(self, project_id: int, name: str, kind: MediaKind, path: str, num_frames: int, width: int,
                  height: int, fps: float | None) -> Media:
        self.project(project_id)
        created = time.time()
        values = dict(project_id=project_id, name=name, kind=kind.value, path=path, num_frames=num_frames,
                      width=width, height=height, fps=fps, created_at=created)
        with self.engine.begin() as db:
            media_id = db.execute(insert(schema.media).values(**values)).inserted_primary_key[0]
        return self.media(media_id)

    def media(self, media_id: int) -> Media:
        with self.engine.connect() as db:
            row = db.execute(select(schema.media).where(schema.media.c.id == media_id)).first()
        if row is None:
            raise MissingRecord(f"no media {media_id}; GET /api/projects/{{id}}/media lists a project's media")
        return _media(row)

    def media_of(self, project_id: int) -> list[Media]:
        with self.engine.connect() as db:
            rows = db.execute(select(schema.media).where(schema.media.c.project_id == project_id).order_by(schema.media.c.id))
            return [_media(r) for r in rows]

    def all_media(self) -> list[Media]:
        with self.engine.connect() as db:
            return [_media(r) for r in db.execute(select(schema.media).order_by(schema.media.c.id))]

    def media_names(self, project_id: int) -> set[str]:
        return {m.name for m in self.media_of(project_id)}

    def delete_media(self, media_id: int) -> Media:
        media = self.media(media_id)
        with self.engine.begin() as db:
            db.execute(delete(schema.media).where(schema.media.c.id == media_id))
        return media

    # ------------------------------------------------------------------ objects

    def add_object(self, media_id: int, name: str | None = None) -> AnnotatedObject:
        """A new object with the next free id (ids are never reused on a video: 1..254, the
        ids a DAVIS label map holds)."""
        self.media(media_id)
        o = schema.objects
        with self.engine.begin() as db:
            lock_row(db, schema.media, media_id)  # two requests adding objects at once get different ids
            highest = db.execute(select(func.max(o.c.obj_id)).where(o.c.media_id == media_id)).scalar() or 0
            if highest >= MAX_OBJECT_ID:
                raise RecordConflict(f"a video holds at most {MAX_OBJECT_ID} objects (the ids of a DAVIS label map)")
            obj_id = highest + 1
            name = name or f"object {obj_id}"
            db.execute(insert(o).values(media_id=media_id, obj_id=obj_id, name=name, created_at=time.time()))
        return AnnotatedObject(media_id, obj_id, name, removed=False)

    def objects(self, media_id: int) -> list[AnnotatedObject]:
        o = schema.objects
        removed = exists(_removal_step(media_id, o.c.obj_id))
        query = select(o.c.obj_id, o.c.name, removed.label("removed")).where(o.c.media_id == media_id).order_by(o.c.obj_id)
        with self.engine.connect() as db:
            return [AnnotatedObject(media_id, r.obj_id, r.name, bool(r.removed)) for r in db.execute(query)]

    def object(self, media_id: int, obj_id: int) -> AnnotatedObject:
        for obj in self.objects(media_id):
            if obj.obj_id == obj_id:
                return obj
        raise MissingRecord(f"media {media_id} has no object {obj_id}; POST /api/media/{media_id}/objects adds one")

    def rename_object(self, media_id: int, obj_id: int, name: str) -> AnnotatedObject:
        self.object(media_id, obj_id)
        o = schema.objects
        with self.engine.begin() as db:
            db.execute(update(o).where(and_(o.c.media_id == media_id, o.c.obj_id == obj_id)).values(name=name))
        return self.object(media_id, obj_id)
