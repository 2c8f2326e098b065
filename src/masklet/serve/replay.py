"""Stored steps applied to a `TrackingSession`: the one way prompts and propagations reach the
model, used live and to rebuild a session from its log.

A session rebuilt by replaying a video's active steps in order holds what the live session
held: each prompt is applied as it was, and each propagation commits the prompts (as it did
when it started) and tracks the same frames in the same order (as many as it had stored when
it stopped), so later prompts and propagations compute the same masks.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import numpy as np

from masklet.backend.outputs import NO_OBJECT_LOGIT
from masklet.io.rle import rle_decode
from masklet.predict.results import FrameResult
from masklet.predict.session import TrackingSession
from masklet.predict.video import VideoPredictor
from masklet.serve.storage.records import (
    Direction,
    FrameMasks,
    ObjectMask,
    Prompt,
    PromptKind,
    Propagation,
    Step,
)


def apply_prompt(session: TrackingSession, prompt: Prompt) -> FrameResult | None:
    """Apply one prompt; returns every object's result on its frame (None for a removal)."""
    if prompt.kind is PromptKind.CLICKS:
        points = None if prompt.points is None else np.array(prompt.points, np.float32)
        labels = None if prompt.labels is None else np.array(prompt.labels, np.int32)
        box = None if prompt.box is None else np.array(prompt.box, np.float32)
        return session.add_points_or_box(
            prompt.frame_idx, prompt.obj_id, points=points, labels=labels, box=box, clear_old_points=prompt.clear_old_points
        )
    if prompt.kind is PromptKind.MASK:
        size = [session.video_height, session.video_width]
        return session.add_mask(prompt.frame_idx, prompt.obj_id, rle_decode({"size": size, "counts": prompt.mask}))
    if prompt.kind is PromptKind.CLEAR:
        return session.result(session.clear_prompts(prompt.frame_idx, prompt.obj_id))
    session.remove_object(prompt.obj_id)
    return None


def passes(direction: Direction) -> list[bool]:
    """The `reverse` flag of each pass of a propagation."""
    return {Direction.FORWARD: [False], Direction.BACKWARD: [True], Direction.BOTH: [False, True]}[direction]


def propagation_results(session: TrackingSession, direction: Direction, start_frame: int | None,
                        max_frames: int | None) -> Iterator[FrameResult]:
    """Every tracked frame of a propagation in order (both: forward from the start, then back)."""
    predictor = VideoPredictor(session.model, show_progress=False)
    for reverse in passes(direction):
        yield from predictor.propagate(session, start_frame, max_frames, reverse)


def planned_frames(session: TrackingSession, direction: Direction, start_frame: int | None,
                   max_frames: int | None) -> int:
    """How many frames a propagation will track (its prompts committed)."""
    return sum(len(VideoPredictor.processing_order(session, start_frame, max_frames, r)) for r in passes(direction))


def replay(session: TrackingSession, steps: list[Step]) -> None:
    """Apply a video's active steps in order."""
    for step in steps:
        if isinstance(step, Propagation):
            session.commit_prompts()
            results = propagation_results(session, step.direction, step.start_frame, step.max_frames)
            for _ in islice(results, step.frames_done):
                pass
        else:
            apply_prompt(session, step)


def frame_masks(result: FrameResult) -> FrameMasks:
    """A frame result as stored: each object that has an output on the frame, its mask as
    COCO RLE counts and its object score."""
    scores = result.object_score_logits.float().cpu().tolist()
    masks = [
        ObjectMask(int(obj_id), rle["counts"], score)
        for obj_id, rle, score in zip(result.obj_ids, result.rle(), scores)
        if score != NO_OBJECT_LOGIT
    ]
    return FrameMasks(result.frame_idx, masks)
