from __future__ import annotations

import numpy as np
import pytest
from conftest import require_shared_data

from masklet.io import read_sav_json, rle_area, rle_decode, rle_encode

pycocotools_mask = pytest.importorskip("pycocotools.mask")


@pytest.mark.parametrize("seed", range(5))
def test_encode_matches_pycocotools_and_round_trips(seed):
    rng = np.random.default_rng(seed)
    mask = np.zeros((37, 53), bool)
    for _ in range(4):
        y, x = rng.integers(0, 30, 2)
        mask[y : y + rng.integers(1, 12), x : x + rng.integers(1, 25)] = True
    if seed == 1:
        mask[0, 0] = True  # a run of 1s at the very start
    ours = rle_encode(mask)
    theirs = pycocotools_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert ours["counts"] == theirs["counts"].decode() and ours["size"] == list(theirs["size"])
    np.testing.assert_array_equal(rle_decode(ours), mask)
    assert rle_area(ours) == mask.sum()


def test_empty_and_full_masks():
    for mask in (np.zeros((4, 5), bool), np.ones((4, 5), bool)):
        np.testing.assert_array_equal(rle_decode(rle_encode(mask)), mask)


def test_bad_rle():
    with pytest.raises(ValueError, match="cover"):
        rle_decode({"size": [4, 4], "counts": [3, 2]})
    with pytest.raises(ValueError, match="size"):
        rle_decode({"counts": "abc"})


def test_sav_file_decodes_like_pycocotools():
    path = require_shared_data() / "sav-example" / "sav_000001_manual.json"
    video = read_sav_json(path)
    assert (video.height, video.width, len(video.object_ids)) == (848, 480, 5)
    assert video.num_annotated_frames == 121
    for t in (0, 60, 120):
        masks = video.masks(t)
        assert masks.shape == (5, 848, 480)
        for rle, mask in zip(video.masklet[t], masks):
            np.testing.assert_array_equal(mask, pycocotools_mask.decode(rle).astype(bool))
            assert rle_encode(mask)["counts"] == rle["counts"]
    assert set(video.first_appearance()) <= set(video.object_ids)


def test_not_a_sav_file(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="not an SA-V annotation file"):
        read_sav_json(bad)
