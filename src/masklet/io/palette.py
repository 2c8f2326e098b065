"""The DAVIS / PASCAL VOC colour palette: object id k is drawn in colour k.

Colour k spreads the bits of k over the three channels, most significant first: bit 0 of k
goes to bit 7 of red, bit 1 to bit 7 of green, bit 2 to bit 7 of blue, bit 3 to bit 6 of red,
and so on. So 0 is black, 1 (128, 0, 0), 2 (0, 128, 0), 3 (128, 128, 0), 4 (0, 0, 128).
"""

from __future__ import annotations

import numpy as np


def _bit_interleaved_palette() -> np.ndarray:
    ids = np.arange(256)
    colours = np.zeros((256, 3), np.uint8)
    for level in range(8):  # level 0 fills bit 7 of each channel
        for channel in range(3):
            bit = (ids >> (3 * level + channel)) & 1
            colours[:, channel] |= (bit << (7 - level)).astype(np.uint8)
    return colours


DAVIS_PALETTE: np.ndarray = _bit_interleaved_palette()  # [256, 3] uint8 RGB
DAVIS_PALETTE.setflags(write=False)


def object_colour(obj_id: int) -> tuple[int, int, int]:
    """The RGB colour of an object id: palette entry `obj_id` for ids 1..255; other ids wrap
    onto 1..255 (entry 1 + (obj_id - 1) mod 255), so no object is drawn black."""
    entry = 1 + (int(obj_id) - 1) % 255
    r, g, b = DAVIS_PALETTE[entry]
    return int(r), int(g), int(b)
