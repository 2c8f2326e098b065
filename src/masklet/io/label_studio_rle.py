"""Label Studio's brush RLE: the `rle` list of a `brushlabels` result.

Label Studio stores a brush mask as the RGBA pixels of the image ([H, W, 4] uint8, flattened
row by row) packed by thi.ng's rle-pack into a bit stream, sent as a list of byte values:

  header   32 bits  number of values (H * W * 4)
            5 bits  bits per value, minus 1 (7: bytes)
           4 x 4 bits  the four widths a block's count may have, minus 1 (widths 3, 4, 8, 16)
  blocks    1 bit   1: a run of one repeated value, 0: literal values
            2 bits  which of the four widths the count has
            w bits  the block's length minus 1
            then one value (a run) or `length` values (literals), 8 bits each
  the stream ends with 1 to 8 zero bits so that it fills whole bytes

`mask_to_rle` writes what Label Studio's own encoder (`label_studio_sdk.converter.brush.mask2rle`
of a 0/255 mask) writes, byte for byte: a mask pixel is (255, 255, 255, 255), the background
(0, 0, 0, 0), every run of more than one value is a repeat block of the narrowest width that
holds it (runs longer than 65536 are split), single values are literal blocks of length 1.
"""

from __future__ import annotations

import numpy as np

from masklet.errors import MaskletError

VALUE_BITS = 8
COUNT_WIDTHS = (3, 4, 8, 16)
MAX_BLOCK = 2 ** COUNT_WIDTHS[-1]  # the longest block the widest count holds
CHANNELS = 4  # RGBA


class BrushRleError(MaskletError, ValueError):
    """An `rle` list that is not Label Studio brush RLE of the expected size."""


def encode_values(values: np.ndarray) -> list[int]:
    """Flat uint8 values -> Label Studio brush RLE (a list of byte values)."""
    values = np.asarray(values)
    if values.ndim != 1 or values.dtype != np.uint8 or values.size == 0:
        raise BrushRleError(f"brush RLE encodes a non-empty flat uint8 array, got {values.dtype} of shape {values.shape}")
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    lengths = np.diff(np.append(starts, values.size))
    run_values = values[starts].astype(np.int64)
    # a run longer than MAX_BLOCK becomes full blocks of MAX_BLOCK and the rest
    full_blocks = (lengths - 1) // MAX_BLOCK
    block_run = np.repeat(np.arange(lengths.size), full_blocks + 1)
    block_lengths = np.full(block_run.size, MAX_BLOCK, np.int64)
    block_lengths[np.cumsum(full_blocks + 1) - 1] = lengths - full_blocks * MAX_BLOCK  # each run's last block
    width_index = np.searchsorted(2 ** np.array(COUNT_WIDTHS), block_lengths)  # the narrowest that holds it
    # each block: repeat flag, width index, length - 1, value; a single value is a literal block
    # of length 1, which differs from a repeat block only in its flag
    fields = np.stack([block_lengths > 1, width_index, block_lengths - 1, run_values[block_run]], axis=1)
    widths = np.stack([np.ones_like(width_index), np.full_like(width_index, 2),
                       np.asarray(COUNT_WIDTHS)[width_index], np.full_like(width_index, VALUE_BITS)], axis=1)
    header = [(values.size, 32), (VALUE_BITS - 1, 5)] + [(w - 1, 4) for w in COUNT_WIDTHS]
    all_fields = np.concatenate([[v for v, _ in header], fields.reshape(-1)])
    all_widths = np.concatenate([[w for _, w in header], widths.reshape(-1)])
    bits = _to_bits(all_fields, all_widths)
    padding = 8 - bits.size % 8  # 1..8: a whole zero byte when the stream already fills its bytes
    return np.packbits(np.concatenate([bits, np.zeros(padding, np.uint8)])).tolist()


def _to_bits(fields: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Each field written most significant bit first in its width, one after another: [sum(widths)] uint8."""
    all_bits = np.unpackbits(fields.astype(">u4").view(np.uint8)).reshape(-1, 32)  # [F, 32], bit 31 first
    return all_bits[np.arange(32)[None, :] >= 32 - widths[:, None]]


def decode_values(rle) -> np.ndarray:
    """Label Studio brush RLE (a list of byte values) -> the flat uint8 values it holds."""
    try:
        data = np.asarray(rle, dtype=np.int64)
    except (TypeError, ValueError):
        raise BrushRleError("brush RLE must be a list of byte values (ints 0..255)") from None
    if data.ndim != 1 or data.size == 0 or data.min() < 0 or data.max() > 255:
        raise BrushRleError("brush RLE must be a non-empty list of byte values (ints 0..255)")
    reader = _BitReader(np.unpackbits(data.astype(np.uint8)))
    count = reader.read(32)
    value_bits = reader.read(5) + 1
    count_widths = [reader.read(4) + 1 for _ in range(4)]
    out = np.zeros(count, np.uint8)
    i = 0
    while i < count:
        repeated = reader.read(1)
        end = min(i + 1 + reader.read(count_widths[reader.read(2)]), count)
        if repeated:
            out[i:end] = reader.read(value_bits)
        else:
            out[i:end] = [reader.read(value_bits) for _ in range(end - i)]
        i = end
    return out


class _BitReader:
    """Reads unsigned fields, most significant bit first, from a bit array."""

    def __init__(self, bits: np.ndarray) -> None:
        self.bits = bits
        self.pos = 0

    def read(self, width: int) -> int:
        if self.pos + width > self.bits.size:
            raise BrushRleError("brush RLE ends in the middle of a block: the list is cut short")
        value = 0
        for bit in self.bits[self.pos:self.pos + width].tolist():
            value = (value << 1) | bit
        self.pos += width
        return value


def mask_to_rle(mask: np.ndarray) -> list[int]:
    """bool mask [H, W] -> Label Studio brush RLE (a mask pixel is opaque white)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise BrushRleError(f"a brush mask is 2-D [H, W], got shape {mask.shape}")
    pixels = np.where(mask.astype(bool), np.uint8(255), np.uint8(0)).reshape(-1)
    return encode_values(np.repeat(pixels, CHANNELS))


def rle_to_mask(rle, height: int, width: int) -> np.ndarray:
    """Label Studio brush RLE of a height x width image -> bool mask [H, W]: the pixels whose
    alpha is at least half opaque (128), as brush strokes drawn in Label Studio are kept."""
    values = decode_values(rle)
    if values.size != height * width * CHANNELS:
        raise BrushRleError(f"the brush RLE holds {values.size} values, a {width}x{height} RGBA image has "
                            f"{height * width * CHANNELS}: original_width / original_height do not match the mask")
    return values.reshape(height, width, CHANNELS)[:, :, 3] >= 128
