"""FrameSpill: per-frame arrays parked on disk, read back in frame order."""

from __future__ import annotations

import numpy as np
import pytest

from masklet.io.frame_spill import FrameSpill


def test_arrays_come_back_in_frame_order_whatever_order_they_went_in():
    rng = np.random.default_rng(0)
    arrays = {t: rng.integers(0, 3, (2, 27, 40), dtype=np.uint8) for t in range(10)}
    with FrameSpill(12) as spill:
        for t in [5, 6, 7, 8, 9, 4, 3, 2, 1, 0]:
            spill[t] = arrays[t]
        spill[7] = arrays[7] + 1  # a frame may be replaced
        assert list(spill) == list(range(10)) and len(spill) == 10
        assert 9 in spill and 10 not in spill and -1 not in spill and "3" not in spill
        for t in range(10):
            expected = arrays[t] + (t == 7)
            assert spill[t].dtype == np.uint8 and np.array_equal(spill[t], expected)
        with pytest.raises(KeyError):
            spill[11]


def test_arrays_of_another_shape_or_dtype_are_refused():
    with FrameSpill(3) as spill:
        spill[0] = np.zeros((4, 5), np.uint8)
        with pytest.raises(ValueError, match=r"frame 1: array \(5, 4\) uint8 differs"):
            spill[1] = np.zeros((5, 4), np.uint8)
        with pytest.raises(ValueError, match="bool differs"):
            spill[2] = np.zeros((4, 5), bool)
        assert list(spill) == [0]
