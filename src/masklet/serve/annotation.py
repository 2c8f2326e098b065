"""Annotating a video: prompts, object removal, undo and redo, propagations, the masks shown.

Every change goes through the video's live session (`SessionPool.use`) and is stored with
the masks it produced in one transaction before the call returns. Requests are checked before
the model sees them, so bad input is a 4xx that changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from masklet.io.rle import rle_decode
from masklet.predict.prompts import user_clicks
from masklet.serve.errors import BadRequest, Conflict
from masklet.serve.propagation import JobRegistry, PropagationJob, PropagationRunning
from masklet.serve.replay import apply_prompt, frame_masks
from masklet.serve.sessions import SessionBusy, SessionPool
from masklet.serve.settings import ServeSettings
from masklet.serve.storage import Catalog, History, Masklets
from masklet.serve.storage.records import (
    Direction,
    FrameMasks,
    Media,
    Prompt,
    PromptKind,
    Step,
    StoredMask,
)

_NOT_RLE = re.compile(r"[^0-o]")  # compressed COCO RLE counts use the characters '0' (48) to 'o' (111)


def prompted_frames(steps: list[Step]) -> dict[int, set[int]]:
    """{obj_id: frames with prompts} of the objects in the session these steps build (removed
    ones left out): a propagation needs each to have a frame, since it tracks every object."""
    frames: dict[int, set[int]] = {}
    for step in steps:
        if not isinstance(step, Prompt):
            continue
        if step.kind in (PromptKind.CLICKS, PromptKind.MASK):
            frames.setdefault(step.obj_id, set()).add(step.frame_idx)
        elif step.kind is PromptKind.CLEAR:
            frames.get(step.obj_id, set()).discard(step.frame_idx)
        else:
            frames.pop(step.obj_id, None)
    return frames


@dataclass(frozen=True)
class HistoryState:
    steps: int  # active steps
    can_undo: bool
    can_redo: bool


class Annotator:
    def __init__(self, settings: ServeSettings, catalog: Catalog, history: History, masklets: Masklets,
                 pool: SessionPool, jobs: JobRegistry) -> None:
        self.settings, self.catalog, self.history, self.masklets = settings, catalog, history, masklets
        self.pool, self.jobs = pool, jobs

    # ------------------------------------------------------------------ checks

    def refuse_while_propagating(self, media_id: int) -> None:
        job = self.jobs.active(media_id)
        if job is not None:
            raise Conflict(f"video {media_id} is propagating (job {job.job_id}); wait for it to finish or cancel it")

    @staticmethod
    def check_frame(media: Media, frame_idx: int) -> None:
        if not 0 <= frame_idx < media.num_frames:
            raise BadRequest(f"frame {frame_idx} is outside the video's {media.num_frames} frames (0..{media.num_frames - 1})")

    def _check_object(self, media: Media, obj_id: int) -> None:
        obj = self.catalog.object(media.id, obj_id)
        if obj.removed:
            raise Conflict(f"object {obj_id} was removed; undo the removal or add a new object")

    def _check_prompt(self, media: Media, prompt: Prompt) -> None:
        self._check_object(media, prompt.obj_id)
        if prompt.kind is PromptKind.REMOVE:
            return
        self.check_frame(media, prompt.frame_idx)
        if prompt.kind is PromptKind.CLICKS:
            if prompt.box is not None and not prompt.clear_old_points:
                raise BadRequest("a box replaces the frame's clicks: send it with clear_old_points true, then add clicks")
            try:
                clicks = user_clicks(prompt.points, prompt.labels, prompt.box, media.width, media.height, image_size=1)
            except ValueError as e:
                raise BadRequest(str(e)) from None
            if clicks is None:
                raise BadRequest("a clicks prompt needs points (with labels) or a box")
        elif prompt.kind is PromptKind.MASK:
            try:
                if _NOT_RLE.search(prompt.mask):  # e.g. a NUL: the decoder takes it, PostgreSQL cannot store it
                    raise ValueError("COCO RLE counts are written with the characters '0' to 'o' only")
                rle_decode({"size": [media.height, media.width], "counts": prompt.mask})
            except (ValueError, TypeError) as e:
                raise BadRequest(f"the mask is not a COCO RLE of a {media.width}x{media.height} frame ({e})") from None

    # ------------------------------------------------------------------ changes

    def add_prompt(self, media_id: int, prompt: Prompt) -> tuple[Prompt, FrameMasks | None]:
        """Apply and store a prompt (its step_id is ignored); returns it as stored, with every
        object's mask on its frame (None for a removal)."""
        media = self.catalog.media(media_id)
        self._check_prompt(media, prompt)
        self.refuse_while_propagating(media_id)
        try:
            with self.pool.use(media_id, wait_s=self.settings.request_wait_s) as live:
                if prompt.kind is PromptKind.CLEAR and prompt.obj_id not in live.session.objects:
                    raise Conflict(f"object {prompt.obj_id} has no prompts to clear")
                result = apply_prompt(live.session, prompt)
                frame = None if result is None else frame_masks(result)
                stored = self.history.add_prompt(media_id, prompt, [] if frame is None else [frame])
                live.signature = self.history.signature(media_id)
        except SessionBusy as e:
            raise Conflict(str(e)) from None
        return stored, frame

    def remove_object(self, media_id: int, obj_id: int) -> Prompt:
        return self.add_prompt(media_id, Prompt(0, PromptKind.REMOVE, obj_id, None))[0]

    def _move_in_history(self, media_id: int, undo: bool) -> list[int]:
        self.catalog.media(media_id)
        self.refuse_while_propagating(media_id)
        try:
            with self.pool.hold(media_id, wait_s=self.settings.request_wait_s):
                ids = self.history.undo(media_id) if undo else self.history.redo(media_id)
        except SessionBusy as e:
            raise Conflict(str(e)) from None
        if not ids:
            raise Conflict(f"nothing to {'undo' if undo else 'redo'}")
        return ids

    def undo(self, media_id: int) -> list[int]:
        """Undo the last prompt (and the propagations after it); the session is rebuilt from
        the remaining steps when next used. Returns the undone step ids."""
        return self._move_in_history(media_id, undo=True)

    def redo(self, media_id: int) -> list[int]:
        return self._move_in_history(media_id, undo=False)

    def start_propagation(self, media_id: int, direction: Direction, start_frame: int | None,
                          max_frames: int | None) -> PropagationJob:
        media = self.catalog.media(media_id)
        if start_frame is not None:
            self.check_frame(media, start_frame)
        prompted = prompted_frames(self.history.steps(media_id))
        if not prompted:
            raise Conflict("no object has prompts: click an object (or draw a box) on a frame first")
        cleared = sorted(obj_id for obj_id, frames in prompted.items() if not frames)
        if cleared:
            raise Conflict(f"object(s) {', '.join(map(str, cleared))} have no prompts left (cleared on every frame "
                           "they had them): click them again, or remove them, before propagating")
        try:
            return self.jobs.start(media_id, direction, start_frame, max_frames)
        except PropagationRunning as e:
            raise Conflict(str(e)) from None

    # ------------------------------------------------------------------ reading

    def masks(self, media_id: int, frame_idx: int | None = None) -> dict[tuple[int, int], StoredMask]:
        """{(obj_id, frame): mask} shown now, for the objects that are not removed."""
        hidden = {o.obj_id for o in self.catalog.objects(media_id) if o.removed}
        return self.masklets.current(media_id, hidden, frame_idx)

    def history_state(self, media_id: int) -> HistoryState:
        self.catalog.media(media_id)
        return HistoryState(self.history.signature(media_id)[0], self.history.can_undo(media_id),
                            bool(self.history.undone_ids(media_id)))
