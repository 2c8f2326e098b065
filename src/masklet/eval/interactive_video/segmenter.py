"""What the simulated annotator drives: anything that segments one object through a video from
clicks, a box or a mask on chosen frames, and propagates on request."""

from __future__ import annotations

from typing import Iterator, Protocol

import numpy as np

from masklet.eval.interactive import Click
from masklet.eval.interactive_video.annotator import Box


class InteractiveVideoSegmenter(Protocol):
    """One object at a time: `start` opens a video, the `add_*` calls prompt a frame and return
    that frame's new mask (bool [H, W]), `propagate` yields (frame index, mask) for every frame
    whose mask it (re)computed."""

    def start(self, frames: np.ndarray) -> None:
        """A new object on the video `frames` [T, H, W, 3] uint8 RGB; forget earlier prompts."""

    def add_click(self, frame_idx: int, click: Click) -> np.ndarray:
        """One more click on the frame (after the frame's earlier clicks)."""

    def add_box(self, frame_idx: int, box: Box) -> np.ndarray: ...

    def add_mask(self, frame_idx: int, mask: np.ndarray) -> np.ndarray: ...

    def propagate(self) -> Iterator[tuple[int, np.ndarray]]: ...
