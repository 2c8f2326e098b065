"""Videos made of separate frames already at hand: image files, PIL images or arrays.

`FrameSequence` learns the frame size from the first frame (for an image file, from its
header only) and reads each image file when its frame is first asked for.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from masklet.io.image import ImageReadError, image_size
from masklet.io.video.random_access import RandomAccessSource
from masklet.io.video.source import VideoReadError, as_rgb_frame


def _frame_size(frame: Any, what: str) -> tuple[int, int]:
    """(height, width) of a frame, reading only the header of image files."""
    if isinstance(frame, (str, os.PathLike)):
        try:
            return image_size(frame)
        except ImageReadError as e:
            raise VideoReadError(str(e)) from None
    if isinstance(frame, Image.Image):
        return frame.height, frame.width
    height, width = as_rgb_frame(frame, what).shape[:2]
    return height, width


class FrameSequence(RandomAccessSource):
    """Random-access frames from a list of arrays, PIL images or image paths, or an array [T, H, W, C].

    Image files are read when their frame is first asked for; every frame must have the
    size of the first one.
    """

    def __init__(
        self,
        frames: Sequence[Any] | np.ndarray,
        *,
        name: str,
        prefetch: int = 4,
        cache_bytes: int = 256 * 2**20,
        fps: float | None = None,
    ):
        if len(frames) == 0:
            raise VideoReadError(f"{name} is empty: a video needs at least one frame")
        if not isinstance(frames, np.ndarray):
            for i, frame in enumerate(frames):
                if not isinstance(frame, (str, os.PathLike, Image.Image)):
                    as_rgb_frame(frame, self._describe(frame, i))
        lazy = not isinstance(frames, np.ndarray) and any(isinstance(f, (str, os.PathLike)) for f in frames)
        height, width = _frame_size(frames[0], self._describe(frames[0], 0))
        super().__init__(
            name=name, num_frames=len(frames), height=height, width=width, fps=fps,
            prefetch=prefetch if lazy else 0, cache_bytes=cache_bytes if lazy else 0,
        )
        self._frames = frames

    @staticmethod
    def _describe(frame: Any, i: int) -> str:
        return f"frame {i} ({frame})" if isinstance(frame, (str, os.PathLike)) else f"frame {i}"

    def _read(self, index: int, backward: bool) -> np.ndarray:
        item = self._frames[index]
        what = self._describe(item, index)
        frame = as_rgb_frame(item, what)
        if frame.shape[:2] != (self.height, self.width):
            raise VideoReadError(
                f"{what} is {frame.shape[1]}x{frame.shape[0]} but {self.name} has frames of "
                f"{self.width}x{self.height} (the size of frame 0); all frames must have the same size"
            )
        return frame
