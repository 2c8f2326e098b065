"""The masks of a video: each object's mask on each frame, by the step that computed it.

What a video shows is, for every (object, frame), the mask of the latest step that is not
undone, for the objects that are not removed.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, insert, select

from masklet.serve.storage import schema
from masklet.serve.storage.records import FrameMasks, StoredMask


def insert_masks(db: Connection, media_id: int, step_id: int, frame: FrameMasks) -> None:
    rows = [dict(step_id=step_id, media_id=media_id, obj_id=m.obj_id, frame_idx=frame.frame_idx, counts=m.counts,
                 score=m.score) for m in frame.masks]
    if rows:
        db.execute(insert(schema.masklets), rows)


class Masklets:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def current(self, media_id: int, hidden_objects: set[int] = frozenset(),
                frame_idx: int | None = None) -> dict[tuple[int, int], StoredMask]:
        """{(obj_id, frame_idx): the latest active step's mask}, leaving out `hidden_objects`
        (the removed ones); one frame, or all."""
        m, s = schema.masklets, schema.steps
        query = (
            select(m.c.step_id, m.c.obj_id, m.c.frame_idx, m.c.counts, m.c.score)
            .join(s, s.c.id == m.c.step_id)
            .where(m.c.media_id == media_id, ~s.c.undone)
            .order_by(m.c.step_id, m.c.id)
        )
        if frame_idx is not None:
            query = query.where(m.c.frame_idx == frame_idx)
        latest: dict[tuple[int, int], StoredMask] = {}
        with self.engine.connect() as db:
            for row in db.execute(query):
                if row.obj_id not in hidden_objects:
                    latest[row.obj_id, row.frame_idx] = StoredMask(row.step_id, row.obj_id, row.frame_idx, row.counts, row.score)
        return latest
