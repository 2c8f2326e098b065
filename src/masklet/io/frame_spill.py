"""Per-frame arrays kept in a temporary file instead of memory.

A long video's tracked masks arrive out of order (forwards from the first prompt, then
backwards) and are written in order at the end; held in memory they would grow with the video.
`FrameSpill` compresses each frame's array into an anonymous temporary file (deleted when
closed) and keeps only its offset, so memory stays flat however many frames there are.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Iterator

import numpy as np


class FrameSpill:
    """{frame index: array} for frames 0..num_frames-1, every array of one shape and dtype.

        with FrameSpill(num_frames) as spill:
            spill[t] = label_map          # any order; a frame may be replaced
            for t in spill:               # frame indices held, ascending
                array = spill[t]
    """

    def __init__(self, num_frames: int) -> None:
        self._file = tempfile.TemporaryFile(prefix="masklet-frames-")
        self._where = np.full((num_frames, 2), -1, dtype=np.int64)  # frame -> (offset, length); -1: none
        self._end = 0
        self._layout: tuple[tuple[int, ...], np.dtype] | None = None  # shape and dtype of every array

    def __setitem__(self, frame_idx: int, array: np.ndarray) -> None:
        layout = (array.shape, array.dtype)
        if self._layout is None:
            self._layout = layout
        elif layout != self._layout:
            raise ValueError(f"frame {frame_idx}: array {array.shape} {array.dtype} differs from the "
                             f"spill's {self._layout[0]} {self._layout[1]}")
        data = zlib.compress(np.ascontiguousarray(array).tobytes(), 1)
        self._file.seek(self._end)
        self._file.write(data)
        self._where[frame_idx] = (self._end, len(data))
        self._end += len(data)

    def __getitem__(self, frame_idx: int) -> np.ndarray:
        offset, length = self._where[frame_idx]
        if offset < 0 or self._layout is None:
            raise KeyError(frame_idx)
        self._file.seek(offset)
        shape, dtype = self._layout
        return np.frombuffer(zlib.decompress(self._file.read(length)), dtype=dtype).reshape(shape)

    def __contains__(self, frame_idx: object) -> bool:
        return isinstance(frame_idx, (int, np.integer)) and 0 <= frame_idx < len(self._where) \
            and self._where[frame_idx, 0] >= 0

    def __iter__(self) -> Iterator[int]:
        return iter(np.flatnonzero(self._where[:, 0] >= 0).tolist())

    def __len__(self) -> int:
        return int((self._where[:, 0] >= 0).sum())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FrameSpill:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
