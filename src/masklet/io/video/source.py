"""The contract every video source keeps, and the frame coercion they share.

A `VideoSource` hands out the frames of one video as read-only RGB uint8 arrays [H, W, 3],
in order by iteration and, when it is seekable, by index. `as_rgb_frame` brings a frame in
any form callers pass (array, PIL image, tensor, image path) to that shape and type, and
`VideoReadError` is what every source raises when it or one of its frames cannot be read.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np

from masklet.errors import MaskletError
from masklet.io.image import as_rgb, read_rgb


class VideoReadError(MaskletError, ValueError):
    """A video source could not be opened or one of its frames could not be read."""


def as_rgb_frame(frame: Any, what: str) -> np.ndarray:
    """`frame` (an image or array as `masklet.io.image.as_rgb` takes, any other array-like such
    as a CPU tensor, or an image path) as a read-only C-contiguous RGB uint8 array [H, W, 3].

    `what` names the frame in error messages.
    """
    try:
        if isinstance(frame, (str, os.PathLike)):
            array = read_rgb(frame)
        else:
            array = as_rgb(np.asarray(frame) if hasattr(frame, "__array__") else frame, what)
    except (TypeError, ValueError) as e:
        raise VideoReadError(str(e)) from None
    array = array.view()
    array.flags.writeable = False
    return array


class VideoSource(ABC):
    """Frames of one video, each a read-only RGB uint8 array [H, W, 3] (copy it to modify it).

    `height` and `width` are the frame size, `fps` the frame rate when known, `num_frames`
    the frame count, or None for streams of unknown length. Iterating yields the frames in
    order; sources with `is_seekable` also support `source[i]` (negative i counts from the
    end). Close the source (or use it as a context manager) to release files and threads.
    """

    name: str
    height: int
    width: int
    fps: float | None = None
    num_frames: int | None = None
    is_seekable: bool = False

    def __len__(self) -> int:
        if self.num_frames is None:
            raise TypeError(f"{self.name} is a stream of unknown length: iterate over it instead of calling len()")
        return self.num_frames

    @abstractmethod
    def __iter__(self) -> Iterator[np.ndarray]:
        """The frames in order."""

    @abstractmethod
    def __getitem__(self, index: int) -> np.ndarray:
        """Frame `index`."""

    @abstractmethod
    def close(self) -> None:
        """Release the files and threads behind the source; it cannot be read afterwards."""

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        frames = "unknown length" if self.num_frames is None else f"{self.num_frames} frames"
        fps = "" if self.fps is None else f", {self.fps:g} fps"
        return f"<{type(self).__name__} {self.name}: {frames} of {self.width}x{self.height}{fps}>"
