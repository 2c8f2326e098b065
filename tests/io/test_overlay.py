"""Colour overlays: blending, outlines, id labels, PNG and MP4 output."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_shared_data
from PIL import Image

from masklet.io import VideoOverlayWriter, object_colour, overlay_masks, read_davis_png, write_overlay_png
from masklet.io.overlay import mask_boundary

av = pytest.importorskip("av")


def squares(height: int = 60, width: int = 80) -> np.ndarray:
    """Two overlapping squares [2, H, W]: object A rows/cols 10-39, object B rows 20-49, cols 30-69."""
    masks = np.zeros((2, height, width), bool)
    masks[0, 10:40, 10:40] = True
    masks[1, 20:50, 30:70] = True
    return masks


def read_video(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_colours_follow_the_davis_palette_by_id():
    assert object_colour(1) == (128, 0, 0) and object_colour(2) == (0, 128, 0)
    assert object_colour(256) == object_colour(1)
    assert object_colour(0) != (0, 0, 0)


def test_blend_outline_and_overlap_order():
    image = np.full((60, 80, 3), 100, np.uint8)
    masks = squares()
    out = overlay_masks(image, masks, [1, 2], alpha=0.5, show_ids=False)
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert out[15, 15].tolist() == [114, 50, 50]  # inside object 1 only: half (128, 0, 0)
    assert out[45, 60].tolist() == [50, 114, 50]  # inside object 2 only
    assert out[30, 35].tolist() == [57, 89, 25]  # overlap: object 2 blended over object 1
    assert out[10, 20].tolist() == [128, 0, 0]  # top edge of object 1: its outline, full colour
    assert out[5, 5].tolist() == [100, 100, 100]  # background untouched
    plain = overlay_masks(image, masks, [1, 2], alpha=0.0, outline=False, show_ids=False)
    assert np.array_equal(plain, image)


def test_outline_ignores_the_image_border():
    mask = np.zeros((10, 10), bool)
    mask[:, :5] = True
    boundary = mask_boundary(mask)
    assert boundary[:, 4].all() and boundary.sum() == 10


def test_ids_are_written_near_the_centroid():
    image = np.zeros((60, 80, 3), np.uint8)
    masks = squares()
    without = overlay_masks(image, masks, [1, 2], show_ids=False)
    with_ids = overlay_masks(image, masks, [1, 2], show_ids=True)
    changed = np.argwhere((without != with_ids).any(axis=2))
    assert len(changed)
    # Label boxes sit around the pixels nearest each centroid, (24.5, 24.5) and (34.5, 49.5).
    assert changed[:, 0].min() >= 10 and changed[:, 0].max() < 50
    assert (with_ids[changed[:, 0], changed[:, 1]] > 200).all(axis=1).any()  # white (antialiased) text


def test_empty_masks_and_errors():
    image = np.zeros((8, 8, 3), np.uint8)
    empty = np.zeros((1, 8, 8), bool)
    assert np.array_equal(overlay_masks(image, empty, [3]), image)
    assert np.array_equal(overlay_masks(image, np.zeros((0, 8, 8), bool), []), image)
    with pytest.raises(ValueError, match="resize"):
        overlay_masks(image, np.zeros((1, 4, 8), bool), [1])
    with pytest.raises(ValueError, match="logits"):
        overlay_masks(image, np.zeros((1, 8, 8), np.float32), [1])
    with pytest.raises(ValueError, match="one id per mask"):
        overlay_masks(image, empty, [1, 2])
    with pytest.raises(ValueError, match="RGB image"):
        overlay_masks(image[..., 0], empty, [1])
    with pytest.raises(ValueError, match="alpha"):
        overlay_masks(image, empty, [1], alpha=2)


def test_overlay_png_on_a_real_frame(tmp_path):
    data = require_shared_data() / "davis2016-val"
    frame = np.asarray(Image.open(data / "JPEGImages" / "480p" / "blackswan" / "00000.jpg").convert("RGB"))
    swan = read_davis_png(data / "Annotations" / "480p" / "blackswan" / "00000.png")[None] > 0
    path = write_overlay_png(tmp_path / "overlay.png", frame, swan, [1])
    written = np.asarray(Image.open(path))
    assert np.array_equal(written, overlay_masks(frame, swan, [1]))
    inside = written[swan[0] & ~mask_boundary(swan[0])].astype(int)
    assert inside[:, 0].mean() > inside[:, 1].mean() + 40  # tinted red


def test_mp4_frames_size_and_object_colour(tmp_path):
    masks = squares(61, 81)  # odd size: padded to 82 x 62 for yuv420p
    frames = [np.full((61, 81, 3), 40 + 10 * t, np.uint8) for t in range(10)]
    with VideoOverlayWriter(tmp_path / "out.mp4", fps=12, size=(81, 61), alpha=1.0, show_ids=False) as video:
        for frame in frames:
            video.write(frame, masks, [1, 2])
    decoded = read_video(tmp_path / "out.mp4")
    assert len(decoded) == 10 and decoded[0].shape == (62, 82, 3)
    for frame in decoded:
        assert np.abs(frame[15, 15].astype(int) - (128, 0, 0)).max() < 24
        assert np.abs(frame[45, 60].astype(int) - (0, 128, 0)).max() < 24
    assert np.abs(decoded[9][5, 5].astype(int) - 130).max() < 12  # background frame 9


def test_mp4_of_real_frames(tmp_path):
    data = require_shared_data() / "davis2016-val"
    names = [f"{t:05d}" for t in range(10)]
    with VideoOverlayWriter(tmp_path / "swan.mp4", fps=24, size=(427, 240)) as video:
        for name in names:
            frame = Image.open(data / "JPEGImages" / "480p" / "blackswan" / f"{name}.jpg").convert("RGB")
            mask = Image.open(data / "Annotations" / "480p" / "blackswan" / f"{name}.png").convert("L")
            small = np.asarray(frame.resize((427, 240)))
            video.write(small, (np.asarray(mask.resize((427, 240), Image.NEAREST)) > 0)[None], [1])
    assert video.frames_written == 10
    with av.open(str(tmp_path / "swan.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (428, 240)
        assert sum(1 for _ in container.decode(video=0)) == 10


def test_mp4_error_inside_the_block_leaves_no_file(tmp_path):
    frame = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(RuntimeError, match="model crashed"):
        with VideoOverlayWriter(tmp_path / "out.mp4", fps=10, size=(32, 32)) as video:
            video.write(frame)
            video.write(frame)
            raise RuntimeError("model crashed")
    assert list(tmp_path.iterdir()) == []


def test_mp4_frame_size_must_match(tmp_path):
    with pytest.raises(ValueError, match="video is 32x32"):
        with VideoOverlayWriter(tmp_path / "out.mp4", fps=10, size=(32, 32)) as video:
            video.write(np.zeros((16, 32, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="fps"):
        VideoOverlayWriter(tmp_path / "out.mp4", fps=0, size=(32, 32))
    assert list(tmp_path.iterdir()) == []


def test_mp4_close_without_with_and_write_after_close(tmp_path):
    video = VideoOverlayWriter(tmp_path / "out.mp4", fps=30000 / 1001, size=(16, 16), alpha=0.3)
    video.write(np.zeros((16, 16, 3), np.uint8), np.ones((1, 16, 16), bool), [4])
    assert not (tmp_path / "out.mp4").exists()
    assert video.close() == tmp_path / "out.mp4" and len(read_video(tmp_path / "out.mp4")) == 1
    assert video.close() == tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="closed"):
        video.write(np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(TypeError, match="unknown overlay options"):
        VideoOverlayWriter(tmp_path / "other.mp4", fps=10, size=(16, 16), colour="red")
