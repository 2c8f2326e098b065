"""The demo's two real video clips, each with an exact ground-truth mask per frame.

`davis_clip`: the first frames of a DAVIS-2016 sequence (854x480 JPEGs and their 0/255
annotations), prompted with its first-frame annotation.
`photo_clip`: a virtual camera panning and zooming over scikit-image's bundled 'coffee' photo
(600x400); the object is the cup on its saucer (with the spoon), outlined once by hand on the
photo as a polygon; each frame's ground truth is that polygon's mask moved by the same camera
transform as the frame, and the prompt is its bounding box on the first frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from masklet.io.davis import read_davis_png
from masklet.io.image import read_rgb

# The cup, spoon and saucer in the 600x400 'coffee' photo, (x, y) pixels clockwise from the
# saucer's upper-left rim: saucer rim, cup rim, spoon handle, saucer rim. Traced from a colour
# segmentation of the photo and corrected by hand at 3x zoom (within about 2 pixels).
COFFEE_CUP_OUTLINE = [
    (147, 86), (174, 70), (184, 68), (200, 48), (213, 38), (239, 24), (262, 18), (299, 18), (325, 22),
    (342, 28), (367, 42), (380, 53), (396, 74), (401, 68), (416, 68), (424, 79), (420, 98), (420, 112),
    (434, 126), (446, 142), (456, 157), (468, 180), (476, 196), (480, 234), (476, 262), (462, 298), (442, 326),
    (417, 349), (383, 372), (357, 382), (320, 388), (280, 389), (240, 386), (205, 379), (176, 364), (142, 342),
    (122, 325), (106, 306), (88, 277), (80, 258), (76, 240), (75, 215), (77, 190), (82, 166), (94, 142),
    (110, 118),
]
PHOTO_CLIP_SIZE = (480, 320)  # (width, height): the photo's 3:2, the whole photo at 0.8x on frame 0
ZOOM = 1.45  # the last frame's magnification over the first's


@dataclass
class Clip:
    name: str
    frames: list[np.ndarray]  # [H, W, 3] uint8 RGB each
    truth: list[np.ndarray]  # [H, W] bool each: the object's exact mask
    frame_names: list[str]  # file stems, e.g. "00000"
    prompt: str  # "mask" (the first frame's truth) or "box" (its bounding box)

    @property
    def first_box(self) -> np.ndarray:
        """[4] x1, y1, x2, y2 of the object on the first frame (pixel edges)."""
        rows, cols = np.nonzero(self.truth[0])
        return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], np.float32)


def davis_clip(davis_root: Path, sequence: str, num_frames: int) -> Clip:
    """The first `num_frames` frames of a DAVIS-2016 sequence (`JPEGImages/480p/<seq>/*.jpg`,
    `Annotations/480p/<seq>/*.png`)."""
    frame_paths = sorted((davis_root / "JPEGImages" / "480p" / sequence).glob("*.jpg"))[:num_frames]
    if not frame_paths:
        raise ValueError(f"no frames for sequence {sequence!r} under {davis_root}/JPEGImages/480p")
    annotations = davis_root / "Annotations" / "480p" / sequence
    frames, truth = [], []
    for path in frame_paths:
        frames.append(read_rgb(path))
        truth.append(read_davis_png(annotations / f"{path.stem}.png") > 0)
    return Clip(sequence, frames, truth, [p.stem for p in frame_paths], prompt="mask")


def camera(t: float, photo_size: tuple[int, int]) -> tuple[float, float, float]:
    """The virtual camera at time t in [0, 1]: (scale in frame pixels per photo pixel, x, y of
    the photo point at the frame's top-left corner). It eases from the whole photo to a 1.45x
    close-up towards the spoon, swaying sideways on the way, never looking past the photo."""
    photo_w, photo_h = photo_size
    width, height = PHOTO_CLIP_SIZE
    ease = (1 - np.cos(np.pi * t)) / 2  # 0 -> 1, smooth at both ends
    scale = width / photo_w * (1 + (ZOOM - 1) * ease)
    view_w, view_h = width / scale, height / scale  # photo pixels in view
    centre_x = photo_w / 2 + 40 * ease + 60 * np.sin(2 * np.pi * t) * ease
    centre_y = photo_h / 2 + 40 * ease
    x0 = float(np.clip(centre_x - view_w / 2, 0, photo_w - view_w))
    y0 = float(np.clip(centre_y - view_h / 2, 0, photo_h - view_h))
    return float(scale), x0, y0


def photo_clip(num_frames: int) -> Clip:
    """`num_frames` frames of the camera move over the coffee photo, with the cup's exact masks."""
    try:
        from skimage import data
    except ImportError:
        raise ImportError("the photo clip comes from scikit-image: pip install 'masklet[demo]'") from None
    photo = Image.fromarray(data.coffee())  # 600x400 RGB
    outline = Image.new("L", photo.size)
    ImageDraw.Draw(outline).polygon(COFFEE_CUP_OUTLINE, fill=255)
    frames, truth = [], []
    for i in range(num_frames):
        scale, x0, y0 = camera(i / max(num_frames - 1, 1), photo.size)
        # Frame pixel (u, v) shows photo point (x0 + u / scale, y0 + v / scale).
        affine = (1 / scale, 0.0, x0, 0.0, 1 / scale, y0)
        frames.append(np.asarray(photo.transform(PHOTO_CLIP_SIZE, Image.AFFINE, affine, Image.BICUBIC)))
        truth.append(np.asarray(outline.transform(PHOTO_CLIP_SIZE, Image.AFFINE, affine, Image.BILINEAR)) >= 128)
    return Clip("coffee", frames, truth, [f"{i:05d}" for i in range(num_frames)], prompt="box")
