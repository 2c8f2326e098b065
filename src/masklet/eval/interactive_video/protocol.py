"""The simulated annotator's session with one object (the SAM 2 paper's interactive protocol).

Interaction 1 is the first prompt (`annotator.FirstPrompt`: 1, 3 or 5 clicks, the box or the
true mask) on the prompt frame, followed by propagation through the whole video. Every later
interaction is ONE correction click on the worst frame (`annotator.worst_frame`), placed on
that frame's error with the image benchmark's rule, followed by propagation again. The video's
J&F is recorded after each interaction; when no frame has an error left that a click could fix
(every frame perfect or stalled, see `annotator.worst_frame`) the annotator stops clicking and
the score is carried to the remaining interactions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from masklet.eval.interactive import Click, next_click
from masklet.eval.interactive_video.annotator import (
    FirstPrompt,
    PromptFrame,
    choose_prompt_frame,
    mask_box,
    worst_frame,
)
from masklet.eval.interactive_video.data import InteractiveVideo, VideoObject
from masklet.eval.interactive_video.scoring import ObjectScorer
from masklet.eval.interactive_video.segmenter import InteractiveVideoSegmenter

CORRECTION = "click"
NOTHING_LEFT = "none"


@dataclass(frozen=True)
class ProtocolSettings:
    first_prompt: FirstPrompt = FirstPrompt.CLICKS1
    prompt_frame: PromptFrame = PromptFrame.FIRST
    max_interactions: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "first_prompt", FirstPrompt(self.first_prompt))
        object.__setattr__(self, "prompt_frame", PromptFrame(self.prompt_frame))
        if self.max_interactions < 1:
            raise ValueError(f"max_interactions must be at least 1, got {self.max_interactions}")


@dataclass(frozen=True)
class Interaction:
    """One interaction and the video's scores after it."""

    frame_idx: int | None  # the frame prompted (None: no frame was left that a click could fix)
    prompt: str  # a FirstPrompt value, CORRECTION or NOTHING_LEFT
    clicks: tuple[Click, ...]  # the clicks placed (none for a box or a mask)
    J: float
    F: float

    @property
    def JF(self) -> float:
        return (self.J + self.F) / 2


@dataclass(frozen=True)
class ObjectRun:
    video: str
    obj_id: int
    prompt_frame: int
    interactions: list[Interaction]

    @property
    def curve(self) -> list[float]:
        """The video's J&F after interaction 1, 2, ..."""
        return [i.JF for i in self.interactions]


def run_object(segmenter: InteractiveVideoSegmenter, video: InteractiveVideo, obj: VideoObject,
               settings: ProtocolSettings) -> ObjectRun:
    """Annotate one object of a video for `settings.max_interactions` interactions."""
    scorer = ObjectScorer(obj)
    segmenter.start(video.frames)
    frame = choose_prompt_frame(obj, settings.prompt_frame)
    clicks = _first_prompt(segmenter, scorer, frame, settings.first_prompt)
    interactions = [_after(segmenter, scorer, frame, settings.first_prompt.value, clicks)]
    stalled: dict[int, np.ndarray] = {}  # frame -> its mask when a correction there changed nothing
    while len(interactions) < settings.max_interactions:
        still = {t for t, mask in stalled.items() if np.array_equal(mask, scorer.masks[t])}
        frame = worst_frame(scorer.frame_scores(), still)
        if frame is None:
            interactions.append(_after(None, scorer, None, NOTHING_LEFT, ()))
            continue
        before = scorer.masks[frame]
        click = _click_on_error(scorer, frame)
        scorer.update(frame, segmenter.add_click(frame, click))
        interactions.append(_after(segmenter, scorer, frame, CORRECTION, (click,)))
        if np.array_equal(before, scorer.masks[frame]):
            stalled[frame] = before
    return ObjectRun(video.name, obj.obj_id, interactions[0].frame_idx, interactions)


def _first_prompt(segmenter: InteractiveVideoSegmenter, scorer: ObjectScorer, frame: int,
                  prompt: FirstPrompt) -> tuple[Click, ...]:
    """Give the first prompt on `frame`; returns the clicks placed."""
    truth = scorer.obj.truth[frame]
    if prompt is FirstPrompt.MASK:
        scorer.update(frame, segmenter.add_mask(frame, truth))
        return ()
    if prompt is FirstPrompt.BOX:
        scorer.update(frame, segmenter.add_box(frame, mask_box(truth)))
        return ()
    clicks = []
    for _ in range(prompt.clicks):
        clicks.append(_click_on_error(scorer, frame))
        scorer.update(frame, segmenter.add_click(frame, clicks[-1]))
    return tuple(clicks)


def _click_on_error(scorer: ObjectScorer, frame: int) -> Click:
    obj = scorer.obj
    return next_click(obj.truth[frame], scorer.masks[frame], obj.void[frame])


def _after(segmenter: InteractiveVideoSegmenter | None, scorer: ObjectScorer, frame: int | None, prompt: str,
           clicks: tuple[Click, ...]) -> Interaction:
    """Propagate (unless there is no segmenter call to follow) and record the scores."""
    if segmenter is not None:
        for t, mask in segmenter.propagate():
            scorer.update(t, mask)
    score = scorer.video_score()
    return Interaction(frame, prompt, clicks, score.J, score.F)
