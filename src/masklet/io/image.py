"""Still images as RGB uint8 arrays [H, W, 3]: from PIL images and arrays, from image files,
and the image files of a folder.

Every reader in masklet takes the same image files (`IMAGE_SUFFIXES`) and turns images into
RGB the same way (`as_rgb`): grey is repeated into the three channels, alpha is dropped.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from masklet.errors import MaskletError

IMAGE_SUFFIXES = frozenset({".bmp", ".jpeg", ".jpg", ".png", ".webp"})  # matched in any case
IMAGE_KINDS = "a PIL image or a numpy array [H, W, 3] of uint8 RGB (grey [H, W] and RGBA [H, W, 4] are converted)"
# What PIL raises on files it cannot decode, besides the FileNotFoundError of a missing one.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError)


class ImageReadError(MaskletError, ValueError):
    """An image file that is missing or cannot be decoded; the message names the file."""


def as_rgb(image: Any, what: str = "the image", *, unit_float: bool = False) -> np.ndarray:
    """A PIL image (any mode) or a numpy array [H, W], [H, W, 1], [H, W, 3] or [H, W, 4] ->
    C-contiguous RGB [H, W, 3] (a view of `image` where no copy is needed).

    Arrays must be uint8 (0..255); with `unit_float`, float arrays holding values in [0, 1] are
    taken too and stay float. Anything else is a TypeError (other types, a torch tensor
    included) or a ValueError (other shapes and dtypes, an empty image); `what` names the image
    in the message.
    """
    if isinstance(image, Image.Image):
        return np.array(image.convert("RGB"))  # writable, unlike np.asarray of a PIL image
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{what} is of type {type(image).__name__}; expected {IMAGE_KINDS}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"{what} has shape {list(image.shape)}; expected {IMAGE_KINDS}")
    if 0 in image.shape[:2]:
        raise ValueError(f"{what} is empty: shape {list(image.shape)}")
    _check_dtype(image, what, unit_float)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def _check_dtype(image: np.ndarray, what: str, unit_float: bool) -> None:
    if image.dtype == np.uint8:
        return
    if not (unit_float and np.issubdtype(image.dtype, np.floating)):
        expected = "uint8 (0..255) or float in [0, 1]" if unit_float else "uint8 (0..255)"
        raise ValueError(f"{what} has dtype {image.dtype}; expected {expected}")
    if image.min() < 0 or image.max() > 1:
        raise ValueError(f"{what} is a float image with values outside [0, 1]; pass uint8 for 0..255 images")


def _unreadable(path: str | os.PathLike, error: Exception) -> ImageReadError:
    kinds = " ".join(sorted(IMAGE_SUFFIXES))
    return ImageReadError(f"cannot read image {path} ({error}); expected an image file ({kinds})")


def _open_lazily(path: str | os.PathLike) -> Image.Image:
    """The image file opened with PIL, its header read and its pixels not yet decoded."""
    try:
        return Image.open(path)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such image file") from None
    except _DECODE_ERRORS as e:
        raise _unreadable(path, e) from None


@contextlib.contextmanager
def open_image(path: str | os.PathLike, draft_size: tuple[int, int] | None = None) -> Iterator[Image.Image]:
    """The image file opened and decoded with PIL, closed after the block; a missing or
    undecodable file is an ImageReadError.

    With `draft_size` (width, height), a JPEG may be decoded at a reduced scale (1/2, 1/4, 1/8)
    that still leaves at least that many pixels: much faster when it is resized down anyway.
    """
    with _open_lazily(path) as image:
        try:
            if draft_size is not None:
                image.draft("RGB", draft_size)
            image.load()
        except _DECODE_ERRORS as e:
            raise _unreadable(path, e) from None
        yield image


def read_rgb(path: str | os.PathLike, draft_size: tuple[int, int] | None = None) -> np.ndarray:
    """An image file as RGB uint8 [H, W, 3] (`draft_size` as for `open_image`)."""
    with open_image(path, draft_size) as image:
        return as_rgb(image)


def read_grey(path: str | os.PathLike) -> np.ndarray:
    """An image file's luminance as uint8 [H, W] (PIL's "L" conversion): for masks stored as grey
    levels, whatever mode the file was saved in."""
    with open_image(path) as image:
        return np.array(image.convert("L"))


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of an image file, from its header alone."""
    with _open_lazily(path) as image:
        return image.height, image.width


def natural_sort_key(name: str) -> tuple:
    """Sort key that orders digit runs by value, so "frame2" comes before "frame10"."""
    parts = re.split(r"([0-9]+)", name.lower())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def image_files(folder: Path) -> list[Path]:
    """The image files (`IMAGE_SUFFIXES`) of `folder` in natural order, hidden files left out."""
    files = (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    return sorted((p for p in files if p.is_file()), key=lambda p: natural_sort_key(p.name))
