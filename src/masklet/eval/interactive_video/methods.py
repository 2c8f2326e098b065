"""The method and its two baselines, built from Masklet's own predictors.

  video                 SAM 2's way: `VideoPredictor` takes the prompt and every correction
                        click on its frame, where the click is decoded with the object's
                        memory and its previous logits as mask input; each prompted frame
                        becomes a conditioning frame (`add_all_frames_to_correct_as_cond`, so a
                        re-propagation keeps the correction instead of re-tracking over it),
                        then the whole video is propagated again.
  image-per-frame       the data engine's first phase: `ImagePredictor` on every frame on its
                        own; a click re-segments only its frame (SAM's rule, `predict_frame`:
                        the frame's clicks, its box, its previous logits); frames never
                        clicked have no mask. Nothing is propagated.
  image-then-propagate  SAM + a VOS model: `ImagePredictor` makes the mask on a prompted frame
                        from that frame's clicks or box (it does not see the propagated mask),
                        the mask is given to `VideoPredictor` as a mask prompt
                        (`add_new_mask`) and the whole video is propagated again: corrections
                        reach the video model as masks, not through its memory-aware clicks.

A true-mask prompt is used as it is by the image-per-frame baseline and given with
`add_new_mask` by the other two. Propagating "the whole video" is the reference's default in
both directions: forward from the earliest prompted frame to the end, then, when that frame is
not the first, backward from it to frame 0.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from masklet.eval.interactive import Click, FramePrompt, predict_frame
from masklet.eval.interactive_video.annotator import Box
from masklet.predict.image import ImagePredictor
from masklet.predict.video import VideoPredictor

OBJECT_ID = 1
FEATURE_CACHE_BYTES = 2 * 2**30  # image features kept per session


def _video_predictor(model) -> VideoPredictor:
    return VideoPredictor(model, show_progress=False, add_all_frames_to_correct_as_cond=True)


def _open_session(predictor: VideoPredictor, frames: np.ndarray):
    """A session that keeps the image features of as many frames as FEATURE_CACHE_BYTES holds
    (all of them for small models): each interaction propagates through the whole video again,
    and a frame's features never change, so results are the same, only faster."""
    state = predictor.init_state(frames)
    state.frames.features(0)
    per_frame = max(state.frames.cached_bytes(), 1)
    state.frames.cache_size = max(2, min(len(frames), FEATURE_CACHE_BYTES // per_frame))
    return state


def _mask(logits, threshold: float) -> np.ndarray:
    """The object's bool mask [H, W] from the predictor's logits [objects, 1, H, W]."""
    return (logits[0, 0] > threshold).cpu().numpy()


def propagate_whole_video(predictor: VideoPredictor, state) -> Iterator[tuple[int, np.ndarray]]:
    """(frame index, mask) of every frame: forward from the earliest prompted frame, then
    backward from it when it is not frame 0."""
    start = None
    for result in predictor.propagate(state):
        start = result.frame_idx if start is None else start
        yield result.frame_idx, result.masks[0]
    if start:
        for result in predictor.propagate(state, reverse=True):
            yield result.frame_idx, result.masks[0]


class VideoClicks:
    """The full method: prompts and correction clicks go to `VideoPredictor`."""

    def __init__(self, model) -> None:
        self.predictor = _video_predictor(model)
        self.state = None

    def start(self, frames: np.ndarray) -> None:
        self.state = _open_session(self.predictor, frames)

    def add_click(self, frame_idx: int, click: Click) -> np.ndarray:
        _, _, logits = self.predictor.add_new_points_or_box(
            self.state, frame_idx, OBJECT_ID, points=[[click.x, click.y]], labels=[int(click.positive)],
            clear_old_points=False,
        )
        return _mask(logits, self.predictor.options.mask_threshold)

    def add_box(self, frame_idx: int, box: Box) -> np.ndarray:
        _, _, logits = self.predictor.add_new_points_or_box(self.state, frame_idx, OBJECT_ID, box=box.as_tuple())
        return _mask(logits, self.predictor.options.mask_threshold)

    def add_mask(self, frame_idx: int, mask: np.ndarray) -> np.ndarray:
        _, _, logits = self.predictor.add_new_mask(self.state, frame_idx, OBJECT_ID, mask)
        return _mask(logits, self.predictor.options.mask_threshold)

    def propagate(self) -> Iterator[tuple[int, np.ndarray]]:
        return propagate_whole_video(self.predictor, self.state)


class ImagePerFrame:
    """Baseline: the image predictor on each frame independently."""

    def __init__(self, model) -> None:
        self.predictor = ImagePredictor(model)
        self.frames: np.ndarray | None = None
        self.prompts: dict[int, FramePrompt] = {}
        self._embedded: int | None = None  # the frame whose image the predictor holds

    def start(self, frames: np.ndarray) -> None:
        self.frames, self.prompts, self._embedded = frames, {}, None

    def add_click(self, frame_idx: int, click: Click) -> np.ndarray:
        prompt = self.prompts.setdefault(frame_idx, FramePrompt())
        prompt.clicks.append(click)
        return self._segment(frame_idx, prompt)

    def add_box(self, frame_idx: int, box: Box) -> np.ndarray:
        prompt = self.prompts[frame_idx] = FramePrompt(box=box.as_tuple())
        return self._segment(frame_idx, prompt)

    def add_mask(self, frame_idx: int, mask: np.ndarray) -> np.ndarray:
        self.prompts[frame_idx] = FramePrompt()
        return np.asarray(mask, bool)

    def propagate(self) -> Iterator[tuple[int, np.ndarray]]:
        return iter(())

    def _segment(self, frame_idx: int, prompt: FramePrompt) -> np.ndarray:
        if self._embedded != frame_idx:
            self.predictor.set_image(self.frames[frame_idx])
            self._embedded = frame_idx
        return predict_frame(self.predictor, prompt)


class ImageThenPropagate:
    """Baseline: image-predictor masks on the prompted frames, propagated by the video
    predictor as mask prompts."""

    def __init__(self, model) -> None:
        self.image = ImagePerFrame(model)
        self.predictor = _video_predictor(model)
        self.state = None
        self._new_masks: dict[int, np.ndarray] = {}  # frame -> mask not yet given to the video predictor

    def start(self, frames: np.ndarray) -> None:
        self.image.start(frames)
        self.state = _open_session(self.predictor, frames)
        self._new_masks = {}

    def add_click(self, frame_idx: int, click: Click) -> np.ndarray:
        return self._hold(frame_idx, self.image.add_click(frame_idx, click))

    def add_box(self, frame_idx: int, box: Box) -> np.ndarray:
        return self._hold(frame_idx, self.image.add_box(frame_idx, box))

    def add_mask(self, frame_idx: int, mask: np.ndarray) -> np.ndarray:
        return self._hold(frame_idx, self.image.add_mask(frame_idx, mask))

    def _hold(self, frame_idx: int, mask: np.ndarray) -> np.ndarray:
        self._new_masks[frame_idx] = mask
        return mask

    def propagate(self) -> Iterator[tuple[int, np.ndarray]]:
        for frame_idx, mask in self._new_masks.items():
            self.predictor.add_new_mask(self.state, frame_idx, OBJECT_ID, mask)
        self._new_masks = {}
        return propagate_whole_video(self.predictor, self.state)


METHODS = {"video": VideoClicks, "image-per-frame": ImagePerFrame, "image-then-propagate": ImageThenPropagate}
