"""Colour overlays of masks on images and videos.

Object id k is drawn in DAVIS palette colour k (`masklet.io.palette.object_colour`), so an
object keeps its colour across frames and matches the palette PNGs: the mask is blended into
the image, its boundary pixels are drawn in the full colour, and its id is written on a small
label in the object's colour at the mask pixel nearest to the mask's centroid.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from masklet.io._validate import as_ids, as_mask_stack
from masklet.io.atomic import atomic_output
from masklet.io.palette import object_colour


def _as_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB image [H, W, 3] uint8, got {image.dtype} {image.shape}")
    return image


def mask_boundary(mask: np.ndarray) -> np.ndarray:
    """bool [H, W]: the mask's pixels with a 4-neighbour outside it (the image border does not
    count as outside)."""
    return mask & ~ndimage.binary_erosion(mask, border_value=1)


def _label_anchor(mask: np.ndarray) -> tuple[int, int]:
    """(x, y) of the mask pixel nearest to the mask's centroid (inside even for rings)."""
    rows, cols = np.nonzero(mask)
    cy, cx = rows.mean(), cols.mean()
    nearest = int(np.argmin((rows - cy) ** 2 + (cols - cx) ** 2))
    return int(cols[nearest]), int(rows[nearest])


def _draw_ids(canvas: Image.Image, anchors: list[tuple[tuple[int, int], int]]) -> None:
    """Write each id in white on a box of its object's colour, centred at its anchor; the text
    is 1/30 of the image's shorter side high (at least 10 pixels)."""
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(10, min(canvas.size) // 30))
    for (x, y), obj_id in anchors:
        text = str(obj_id)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        w, h = right - left, bottom - top
        x0 = min(max(x - w // 2 - 2, 0), max(canvas.width - w - 4, 0))
        y0 = min(max(y - h // 2 - 2, 0), max(canvas.height - h - 4, 0))
        draw.rectangle((x0, y0, x0 + w + 3, y0 + h + 3), fill=object_colour(obj_id))
        draw.text((x0 + 2 - left, y0 + 2 - top), text, fill=(255, 255, 255), font=font)


def overlay_masks(image, masks, obj_ids: Sequence[int], alpha: float = 0.5, outline: bool = True,
                  show_ids: bool = True) -> np.ndarray:
    """RGB image [H, W, 3] uint8 with bool masks [N, H, W] of objects `obj_ids` drawn on it
    -> a new [H, W, 3] uint8 image. Masks are blended in order (a later mask covers an earlier
    one where they overlap); `alpha` is the colour's weight (0: image only, 1: solid colour)."""
    image = _as_image(image)
    masks = as_mask_stack(masks)
    ids = as_ids(obj_ids, len(masks))
    if masks.shape[1:] != image.shape[:2]:
        raise ValueError(f"masks are {masks.shape[1:]} but the image is {image.shape[:2]}; resize one to the other")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    out = image.astype(np.float32)
    for mask, obj_id in zip(masks, ids):
        colour = np.array(object_colour(obj_id), np.float32)
        out[mask] = (1 - alpha) * out[mask] + alpha * colour
    if outline:
        for mask, obj_id in zip(masks, ids):
            out[mask_boundary(mask)] = object_colour(obj_id)
    result = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if show_ids:
        anchors = [(_label_anchor(mask), obj_id) for mask, obj_id in zip(masks, ids) if mask.any()]
        if anchors:
            canvas = Image.fromarray(result)
            _draw_ids(canvas, anchors)
            result = np.asarray(canvas).copy()
    return result


def write_overlay_png(path: str | Path, image, masks, obj_ids: Sequence[int], **options) -> Path:
    """Write `overlay_masks(image, masks, obj_ids, **options)` as a PNG; returns the path."""
    overlay = overlay_masks(image, masks, obj_ids, **options)
    path = Path(path)
    with atomic_output(path) as tmp:
        Image.fromarray(overlay).save(tmp, format="PNG")
    return path


def _video_codec() -> str:
    import av

    try:
        av.codec.Codec("libx264", "w")
    except ValueError:  # UnknownCodecError: this FFmpeg build has no libx264
        return "mpeg4"
    return "libx264"


class VideoOverlayWriter:
    """Write frames with mask overlays to an MP4 (H.264, or MPEG-4 part 2 where the PyAV build
    has no libx264), whole or not at all:

        with VideoOverlayWriter("out.mp4", fps=24, size=(width, height)) as video:
            for frame, masks in ...:
                video.write(frame, masks, obj_ids)

    The video is encoded into a temporary file in the destination folder and renamed onto
    `path` when the `with` block (or `close()`) completes; an exception inside the block
    deletes it. The encoder's yuv420p pixel format needs an even width and height, so an odd
    size gets its last column / row repeated once (the video is one pixel wider / taller).
    Overlay options (`alpha`, `outline`, `show_ids`) apply to every frame.
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int], **overlay_options):
        try:
            import av
        except ImportError:
            raise ImportError("writing MP4 overlays needs PyAV: pip install av") from None
        width, height = (int(v) for v in size)
        if width <= 0 or height <= 0:
            raise ValueError(f"size must be (width, height) > 0, got {size}")
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        unknown = set(overlay_options) - {"alpha", "outline", "show_ids"}
        if unknown:
            raise TypeError(f"unknown overlay options {sorted(unknown)}; use alpha, outline, show_ids")
        self.path = Path(path)
        self.size = (width, height)
        self.overlay_options = overlay_options
        self.frames_written = 0
        self._pad = (height % 2, width % 2)  # rows, columns to add
        with ExitStack() as stack:  # undone (temporary file deleted) if setting up fails
            tmp = stack.enter_context(atomic_output(self.path))
            self._container = stack.enter_context(av.open(str(tmp), mode="w", format="mp4"))
            self._stream = self._container.add_stream(_video_codec(), rate=Fraction(fps).limit_denominator(100000))
            self._stream.width, self._stream.height = width + self._pad[1], height + self._pad[0]
            self._stream.pix_fmt = "yuv420p"
            # Exiting this stack closes the container, then renames or deletes the temporary file.
            self._open: ExitStack | None = stack.pop_all()

    def write(self, frame, masks=None, obj_ids: Sequence[int] = ()) -> None:
        """Encode one RGB frame [H, W, 3] uint8 with bool masks [N, H, W] of objects `obj_ids`
        drawn on it (no masks: the frame as it is)."""
        import av

        if self._open is None:
            raise ValueError(f"{self.path}: the video is closed; open a new VideoOverlayWriter")
        frame = _as_image(frame)
        if frame.shape[1::-1] != self.size:
            height, width = frame.shape[:2]
            raise ValueError(f"frame is {width}x{height} but the video is {self.size[0]}x{self.size[1]}")
        if masks is not None:
            frame = overlay_masks(frame, masks, obj_ids, **self.overlay_options)
        if any(self._pad):
            frame = np.pad(frame, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> Path:
        """Flush the encoder and move the finished video onto `path` (once; later calls do nothing)."""
        if self._open is not None:
            open_video, self._open = self._open, None
            with open_video:  # an error while flushing or closing deletes the temporary file
                for packet in self._stream.encode():
                    self._container.mux(packet)
        return self.path

    def __enter__(self) -> VideoOverlayWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc is None:
            self.close()
        elif self._open is not None:
            open_video, self._open = self._open, None
            open_video.__exit__(exc_type, exc, traceback)
