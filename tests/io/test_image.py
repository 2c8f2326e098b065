"""masklet.io.image: one RGB coercion, one image-file reader and one set of image suffixes for
every reader in masklet."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import require_shared_data
from PIL import Image

from masklet.io.image import (
    IMAGE_SUFFIXES,
    ImageReadError,
    as_rgb,
    image_files,
    image_size,
    natural_sort_key,
    read_grey,
    read_rgb,
)


def test_arrays_and_pil_images_become_rgb():
    rgb = np.random.default_rng(0).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    assert np.shares_memory(as_rgb(rgb), rgb)  # already RGB: no copy
    grey = rgb[:, :, 0]
    for image in (grey, grey[:, :, None], Image.fromarray(grey)):
        np.testing.assert_array_equal(as_rgb(image), np.repeat(grey[:, :, None], 3, axis=2))
    rgba = np.dstack([rgb, np.full((4, 6), 7, np.uint8)])
    for image in (rgba, Image.fromarray(rgba)):
        converted = as_rgb(image)
        np.testing.assert_array_equal(converted, rgb)
        assert converted.flags.c_contiguous and converted.dtype == np.uint8
    assert as_rgb(Image.fromarray(rgb).convert("P")).shape == (4, 6, 3)


def test_float_images_only_when_asked_and_in_range():
    image = np.full((2, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match=r"dtype float32; expected uint8 \(0..255\)$"):
        as_rgb(image)
    converted = as_rgb(image, unit_float=True)
    assert converted.shape == (2, 3, 3) and converted.dtype == np.float32
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        as_rgb(image * 3, unit_float=True)


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        (torch.zeros(4, 6, 3, dtype=torch.uint8), TypeError,
         "photo is of type Tensor; expected a PIL image or a numpy array"),
        ("photo.jpg", TypeError, "of type str"),
        (np.zeros((4, 6, 2), np.uint8), ValueError, r"photo has shape \[4, 6, 2\]; expected .*\[H, W, 3\]"),
        (np.zeros((2, 4, 6, 3), np.uint8), ValueError, r"shape \[2, 4, 6, 3\]"),
        (np.zeros((0, 6, 3), np.uint8), ValueError, r"photo is empty: shape \[0, 6, 3\]"),
        (np.zeros((4, 6, 3), np.int32), ValueError, "dtype int32"),
    ],
)
def test_bad_images_name_what_is_wrong(image, error, message):
    with pytest.raises(error, match=message):
        as_rgb(image, "photo")


def test_reading_image_files(tmp_path):
    photo = require_shared_data() / "images" / "groceries.jpg"
    pixels = read_rgb(photo)
    assert pixels.shape == (534, 800, 3) and pixels.dtype == np.uint8 and pixels.flags.writeable
    with Image.open(photo) as image:
        np.testing.assert_array_equal(pixels, np.asarray(image.convert("RGB")))
    assert image_size(photo) == (534, 800)
    assert read_rgb(photo, draft_size=(200, 200)).shape == (267, 400, 3)  # JPEG decoded at 1/2 scale
    Image.fromarray(np.array([[0, 255]], np.uint8)).save(tmp_path / "mask.png")
    np.testing.assert_array_equal(read_grey(tmp_path / "mask.png"), [[0, 255]])


def test_missing_and_broken_image_files(tmp_path):
    with pytest.raises(ImageReadError, match="absent.jpg: no such image file"):
        read_rgb(tmp_path / "absent.jpg")
    (tmp_path / "broken.jpg").write_text("not a JPEG")
    for read in (read_rgb, read_grey, image_size):
        with pytest.raises(ImageReadError, match=r"cannot read image .*broken\.jpg .*\.bmp .*\.webp"):
            read(tmp_path / "broken.jpg")
    truncated = (require_shared_data() / "images" / "groceries.jpg").read_bytes()[:5000]
    (tmp_path / "truncated.jpg").write_bytes(truncated)
    assert image_size(tmp_path / "truncated.jpg") == (534, 800)  # the header is there
    with pytest.raises(ImageReadError, match="truncated.jpg"):
        read_rgb(tmp_path / "truncated.jpg")


def test_natural_sort_key():
    names = ["f10.png", "f2.png", "F1.png", "f1.png", "g.png"]
    assert sorted(names, key=natural_sort_key) == ["F1.png", "f1.png", "f2.png", "f10.png", "g.png"]


def test_image_files_of_a_folder(tmp_path):
    for name in ["f10.png", "f2.JPG", "f1.webp", "f3.bmp", "f4.jpeg", ".f0.png", "notes.txt"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "f5.png").mkdir()
    assert [p.name for p in image_files(tmp_path)] == ["f1.webp", "f2.JPG", "f3.bmp", "f4.jpeg", "f10.png"]
    assert IMAGE_SUFFIXES == {".bmp", ".jpeg", ".jpg", ".png", ".webp"}
