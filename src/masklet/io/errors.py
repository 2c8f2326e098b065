"""`AnnotationError`, raised by the readers of mask and annotation formats (COCO RLE and JSON,
SA-V, YOLO, DAVIS label maps), and the size bound every decoded mask is held to."""

from __future__ import annotations

import numbers

from masklet.errors import MaskletError

# The largest mask a file may declare (16384 x 16384): a corrupt size is refused, not allocated.
MAX_MASK_PIXELS = 1 << 28


# The most mask pixels one file may decode to in all (2 GB of bool masks): a small file listing
# many masks of a huge image is refused, not expanded.
MAX_DECODED_PIXELS = 1 << 31


class AnnotationError(MaskletError, ValueError):
    """A mask or annotation file that cannot be read; the message says where and why."""


def _whole(value: object) -> bool:
    """An int (numpy's included) or a float with no fraction; never a bool."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return isinstance(value, numbers.Integral) or float(value).is_integer()


def checked_mask_size(height: object, width: object, what: str) -> tuple[int, int]:
    """(height, width) as ints (SA-V writes them as 848.0), refused when not whole numbers >= 0
    or above MAX_MASK_PIXELS in all."""
    if not (_whole(height) and _whole(width)):
        raise AnnotationError(f"{what}: a mask size is two whole numbers [H, W], got {[height, width]!r}")
    h, w = int(height), int(width)  # type: ignore[call-overload]
    if not (0 <= h <= MAX_MASK_PIXELS and 0 <= w <= MAX_MASK_PIXELS and h * w <= MAX_MASK_PIXELS):
        raise AnnotationError(f"{what}: mask size {h}x{w} is negative or above {MAX_MASK_PIXELS} pixels")
    return h, w


def check_decoded_total(pixels: int, what: str) -> None:
    """Refuse a file whose masks decode to more than MAX_DECODED_PIXELS pixels in all."""
    if pixels > MAX_DECODED_PIXELS:
        raise AnnotationError(f"{what}: its masks decode to more than {MAX_DECODED_PIXELS} pixels; split it into smaller files")
