"""What the soak clients upload: small synthetic clips (coloured discs moving over a textured
background) as JPEG files, a zip of PNG frames or an MPEG-4 video, and damaged uploads that the
server must refuse with a 4xx."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np
from PIL import Image

Part = tuple[str, tuple[str, bytes, str]]  # ("files", (file name, bytes, content type)), as httpx takes it


@dataclass(frozen=True)
class Clip:
    frames: np.ndarray  # uint8 [T, H, W, 3]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)"""
        return self.frames.shape[2], self.frames.shape[1]


def make_clip(rng: np.random.Generator, num_frames: int, width: int, height: int) -> Clip:
    """Two or three discs of random colours drifting over smooth noise."""
    ys, xs = np.mgrid[0:height, 0:width]
    background = rng.integers(40, 90, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    background = np.kron(background, np.ones((8, 8, 1), np.uint8))[:height, :width]
    discs = [(rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height, rng.uniform(0.1, 0.2) * min(width, height),
              rng.uniform(-3, 3), rng.uniform(-2, 2), rng.integers(120, 255, 3)) for _ in range(rng.integers(2, 4))]
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        frame = background.copy()
        for x, y, r, dx, dy, colour in discs:
            frame[(xs - x - dx * t) ** 2 + (ys - y - dy * t) ** 2 < r * r] = colour
        frames[t] = frame
    return Clip(frames)


def _encoded(frame: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def jpeg_parts(clip: Clip, folder: str) -> list[Part]:
    return [("files", (f"{folder}/{t:05d}.jpg", _encoded(f, "JPEG"), "image/jpeg")) for t, f in enumerate(clip.frames)]


def zip_part(clip: Clip, folder: str) -> list[Part]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for t, frame in enumerate(clip.frames):
            archive.writestr(f"{folder}/{t:05d}.png", _encoded(frame, "PNG"))
    return [("files", (f"{folder}.zip", buffer.getvalue(), "application/zip"))]


def video_part(clip: Clip, folder: str) -> list[Part]:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=6)
        stream.width, stream.height, stream.pix_fmt = *clip.size, "yuv420p"
        for frame in clip.frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return [("files", (f"{folder}.mp4", buffer.getvalue(), "video/mp4"))]


UPLOADS = {"jpeg": jpeg_parts, "zip": zip_part, "video": video_part}


def damaged_uploads(clip: Clip) -> dict[str, tuple[list[Part], set[int]]]:
    """{name: (multipart files, the statuses the server may answer)} of uploads it must refuse."""
    jpeg = _encoded(clip.frames[0], "JPEG")
    small = _encoded(clip.frames[0][: clip.size[1] // 2, : clip.size[0] // 2], "JPEG")
    good_zip = zip_part(clip, "z")[0][1][1]
    traversal = io.BytesIO()
    with zipfile.ZipFile(traversal, "w") as archive:
        archive.writestr("../escape.png", _encoded(clip.frames[0], "PNG"))
    return {
        "truncated_jpeg": ([("files", ("a.jpg", jpeg[: len(jpeg) // 3], "image/jpeg"))], {415}),
        "text_as_video": ([("files", ("a.mp4", b"not a video at all" * 50, "video/mp4"))], {415}),
        "text_as_plain": ([("files", ("a.txt", b"hello", "text/plain"))], {415}),
        "damaged_zip": ([("files", ("a.zip", good_zip[:40] + b"\0" * 64 + good_zip[104:], "application/zip"))], {400, 415}),
        "zip_escaping": ([("files", ("a.zip", traversal.getvalue(), "application/zip"))], {400}),
        "frames_of_two_sizes": ([("files", ("f/0.jpg", jpeg, "image/jpeg")), ("files", ("f/1.jpg", small, "image/jpeg"))],
                                {400}),
        "image_declared_zip": ([("files", ("a.zip", jpeg, "application/zip"))], {415}),
    }
