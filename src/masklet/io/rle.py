"""COCO run-length encoding (the compressed string form pycocotools and SA-V use).

A mask is flattened in column-major order into alternating runs of 0s and 1s (starting with
0s). The compressed string stores each run, minus the run two places earlier from the fourth
run on, as little-endian groups of 5 bits in characters offset by 48; bit 0x20 marks "more
groups follow", bit 0x10 of the last group is the sign.
"""

from __future__ import annotations

import numbers

import numpy as np

from masklet.io.errors import AnnotationError, checked_mask_size


def _counts_from_string(text: str) -> list[int]:
    counts: list[int] = []
    pos = 0
    while pos < len(text):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(text):
                raise AnnotationError("truncated RLE string")
            group = ord(text[pos]) - 48
            value |= (group & 0x1F) << shift
            more = bool(group & 0x20)
            pos += 1
            shift += 5
            if not more and group & 0x10:
                value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts


def _counts_to_string(counts: list[int]) -> str:
    chars = []
    for i, run in enumerate(counts):
        value = run - counts[i - 2] if i > 2 else run
        more = True
        while more:
            group = value & 0x1F
            value >>= 5
            more = value != -1 if group & 0x10 else value != 0
            chars.append(chr(group + (0x20 if more else 0) + 48))
    return "".join(chars)


def rle_decode(rle: dict) -> np.ndarray:
    """{"size": [H, W], "counts": str | list[int]} -> bool mask [H, W]."""
    if not isinstance(rle, dict) or not isinstance(rle.get("size"), (list, tuple)) or len(rle["size"]) != 2:
        raise AnnotationError("an RLE must be a dict with 'size' [H, W] and 'counts'")
    h, w = checked_mask_size(*rle["size"], what="RLE")
    counts = rle.get("counts")
    try:
        if isinstance(counts, bytes):
            counts = counts.decode("ascii")
        if isinstance(counts, str):
            runs = _counts_from_string(counts)
        elif isinstance(counts, (list, tuple)) and all(isinstance(c, numbers.Integral) and not isinstance(c, bool) for c in counts):
            runs = [int(c) for c in counts]  # numpy integers too
        else:
            raise AnnotationError(f"RLE counts must be a string or a list of whole numbers, got {type(counts).__name__}")
    except UnicodeDecodeError:
        raise AnnotationError("RLE counts bytes are not ASCII") from None
    if any(r < 0 for r in runs) or sum(runs) != h * w:
        raise AnnotationError(f"RLE runs cover {sum(runs)} pixels (or some are negative), the {h}x{w} mask has {h * w}")
    values = np.zeros(len(runs), bool)
    values[1::2] = True
    flat = np.repeat(values, runs)
    return flat.reshape(w, h).T


def rle_encode(mask: np.ndarray) -> dict:
    """bool mask [H, W] -> {"size": [H, W], "counts": compressed str}."""
    mask = np.asarray(mask, bool)
    if mask.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {mask.shape}")
    flat = mask.T.reshape(-1)
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        runs = [0] + runs
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": _counts_to_string(runs)}


def rle_area(rle: dict) -> int:
    """Foreground pixel count without decoding the mask."""
    counts = rle["counts"]
    runs = _counts_from_string(counts) if isinstance(counts, (str, bytes)) else list(counts)
    return int(sum(runs[1::2]))
