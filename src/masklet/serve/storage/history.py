"""The log of a video's annotation steps: prompts and propagations, with undo and redo.

Steps are ordered by id. Undo marks the last prompt that is not undone, and every step after
it (the propagations that followed it), as undone; redo brings back the first undone prompt
and the propagations that followed it up to the next undone prompt. Undone steps are always
the tail of the log, and a new step deletes them (with their masks): the redo history ends
where a new prompt begins. A session is rebuilt by replaying the steps that are not undone.

Every write, with the masks it produced, is one transaction: once a call returns, the step
and its masks are on disk.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update

from masklet.serve.storage import schema
from masklet.serve.storage.masklets import insert_masks
from masklet.serve.storage.records import (
    Direction,
    FrameMasks,
    Prompt,
    PromptKind,
    Propagation,
    PropagationState,
    Step,
)


def _json(value) -> str | None:
    return None if value is None else json.dumps(value)


def _prompt(row) -> Prompt:
    return Prompt(
        step_id=row.step_id, kind=PromptKind(row.kind), obj_id=row.obj_id, frame_idx=row.frame_idx,
        points=None if row.points is None else json.loads(row.points),
        labels=None if row.labels is None else json.loads(row.labels),
        box=None if row.box is None else json.loads(row.box),
        mask=row.mask, clear_old_points=bool(row.clear_old_points),
    )


def _propagation(row) -> Propagation:
    return Propagation(
        step_id=row.step_id, direction=Direction(row.direction), start_frame=row.start_frame,
        max_frames=row.max_frames, frames_done=row.frames_done, state=PropagationState(row.state), error=row.error,
    )


class History:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ------------------------------------------------------------------ writing

    def _new_step(self, db: Connection, media_id: int, kind: str) -> int:
        s = schema.steps
        db.execute(delete(s).where(and_(s.c.media_id == media_id, s.c.undone)))
        values = dict(media_id=media_id, kind=kind, undone=False, created_at=time.time())
        return db.execute(insert(s).values(**values)).inserted_primary_key[0]

    def add_prompt(self, media_id: int, prompt: Prompt, frames: list[FrameMasks]) -> Prompt:
        """Append a prompt (its `step_id` is ignored) with the masks it produced; the undone
        steps are dropped. Returns the prompt as stored."""
        with self.engine.begin() as db:
            step_id = self._new_step(db, media_id, "prompt")
            db.execute(insert(schema.prompts).values(
                step_id=step_id, kind=prompt.kind.value, obj_id=prompt.obj_id, frame_idx=prompt.frame_idx,
                points=_json(prompt.points), labels=_json(prompt.labels), box=_json(prompt.box), mask=prompt.mask,
                clear_old_points=prompt.clear_old_points,
            ))
            for frame in frames:
                insert_masks(db, media_id, step_id, frame)
        return Prompt(step_id, prompt.kind, prompt.obj_id, prompt.frame_idx, prompt.points, prompt.labels,
                      prompt.box, prompt.mask, prompt.clear_old_points)

    def add_propagation(self, media_id: int, direction: Direction, start_frame: int | None,
                        max_frames: int | None) -> Propagation:
        """Append a running propagation; the undone steps are dropped."""
        with self.engine.begin() as db:
            step_id = self._new_step(db, media_id, "propagation")
            db.execute(insert(schema.propagations).values(
                step_id=step_id, direction=direction.value, start_frame=start_frame, max_frames=max_frames,
                frames_done=0, state=PropagationState.RUNNING.value,
            ))
        return Propagation(step_id, direction, start_frame, max_frames, 0, PropagationState.RUNNING)

    def record_frame(self, media_id: int, step_id: int, frame: FrameMasks) -> None:
        """Store one propagated frame's masks and count it done, in one transaction."""
        p = schema.propagations
        with self.engine.begin() as db:
            insert_masks(db, media_id, step_id, frame)
            db.execute(update(p).where(p.c.step_id == step_id).values(frames_done=p.c.frames_done + 1))

    def set_state(self, step_id: int, state: PropagationState, error: str | None = None) -> None:
        p = schema.propagations
        with self.engine.begin() as db:
            db.execute(update(p).where(p.c.step_id == step_id).values(state=state.value, error=error))

    def delete_step(self, step_id: int) -> None:
        with self.engine.begin() as db:
            db.execute(delete(schema.steps).where(schema.steps.c.id == step_id))

    def interrupt_unfinished(self) -> int:
        """After a stop: mark the propagations left running as interrupted (the frames they
        stored stay); returns how many."""
        p = schema.propagations
        running = p.c.state == PropagationState.RUNNING.value
        with self.engine.begin() as db:
            return db.execute(update(p).where(running).values(state=PropagationState.INTERRUPTED.value)).rowcount

    # ------------------------------------------------------------------ reading

    def steps(self, media_id: int, include_undone: bool = False) -> list[Step]:
        """The video's steps in order (by default only those not undone)."""
        s, p, q = schema.steps, schema.prompts, schema.propagations
        where = [s.c.media_id == media_id] + ([] if include_undone else [~s.c.undone])
        with self.engine.connect() as db:
            prompts = db.execute(select(p).join(s, s.c.id == p.c.step_id).where(*where)).all()
            propagations = db.execute(select(q).join(s, s.c.id == q.c.step_id).where(*where)).all()
        steps: list[Step] = [_prompt(r) for r in prompts] + [_propagation(r) for r in propagations]
        return sorted(steps, key=lambda step: step.step_id)

    def propagation(self, step_id: int) -> Propagation | None:
        q = schema.propagations
        with self.engine.connect() as db:
            row = db.execute(select(q).where(q.c.step_id == step_id)).first()
        return None if row is None else _propagation(row)

    def undone_ids(self, media_id: int) -> list[int]:
        s = schema.steps
        with self.engine.connect() as db:
            return list(db.execute(select(s.c.id).where(s.c.media_id == media_id, s.c.undone).order_by(s.c.id)).scalars())

    def signature(self, media_id: int) -> tuple[int, int]:
        """(count, last id) of the active steps: changes whenever the log a session replays does."""
        s = schema.steps
        query = select(func.count(s.c.id), func.max(s.c.id)).where(s.c.media_id == media_id, ~s.c.undone)
        with self.engine.connect() as db:
            count, last = db.execute(query).one()
        return int(count), int(last or 0)

    def _last_active_prompt(self, db: Connection, media_id: int) -> int | None:
        s = schema.steps
        query = select(func.max(s.c.id)).where(s.c.media_id == media_id, ~s.c.undone, s.c.kind == "prompt")
        return db.execute(query).scalar()

    def can_undo(self, media_id: int) -> bool:
        with self.engine.connect() as db:
            return self._last_active_prompt(db, media_id) is not None

    def undo(self, media_id: int) -> list[int]:
        """Undo the last prompt and the steps after it; returns their ids (none: nothing to undo)."""
        s = schema.steps
        with self.engine.begin() as db:
            first = self._last_active_prompt(db, media_id)
            if first is None:
                return []
            ids = list(db.execute(select(s.c.id).where(s.c.media_id == media_id, ~s.c.undone, s.c.id >= first)).scalars())
            db.execute(update(s).where(s.c.id.in_(ids)).values(undone=True))
        return sorted(ids)

    def redo(self, media_id: int) -> list[int]:
        """Redo the first undone prompt and the propagations after it; returns their ids."""
        s = schema.steps
        with self.engine.begin() as db:
            undone = db.execute(select(s.c.id, s.c.kind).where(s.c.media_id == media_id, s.c.undone).order_by(s.c.id)).all()
            if not undone:
                return []
            stop = next((r.id for r in undone[1:] if r.kind == "prompt"), None)
            ids = [r.id for r in undone if stop is None or r.id < stop]
            db.execute(update(s).where(s.c.id.in_(ids)).values(undone=False))
        return ids
