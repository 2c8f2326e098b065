"""`masklet.mine`: SA-V style automatic masklets of a clip with no input, and the rules that
filter and de-duplicate them."""

from __future__ import annotations

import json

import numpy as np
from autolabel_fixtures import *  # noqa: F401,F403
from autolabel_fixtures import CLIP_FRAMES, NANO_MINING, iou

import masklet
from masklet.autolabel import MineOptions
from masklet.autolabel.masklets import Masklet
from masklet.autolabel.mining import deduplicated
from masklet.io import read_sav_json


def test_mining_finds_the_swan_as_a_masklet(swan_clip, tmp_path):
    report = masklet.mine(swan_clip.videos, output=tmp_path, options=NANO_MINING, progress=False)
    assert report.problems == []
    video = read_sav_json(tmp_path / "blackswan_auto.json")
    assert len(video.object_ids) >= 1
    per_masklet = [np.mean([iou(video.masks(t)[o], swan_clip.gt[t]) for t in range(CLIP_FRAMES)])
                   for o in range(len(video.object_ids))]
    print(f"\nmasklet-nano mining, blackswan 8 frames: {len(per_masklet)} masklet(s), mean J with the swan "
          f"{' '.join(f'{v:.2f}' for v in per_masklet)}")
    assert max(per_masklet) > 0.45  # measured 0.63


def test_auto_file_has_the_sav_example_keys(swan_clip, tmp_path):
    from conftest import require_shared_data

    example = json.loads((require_shared_data() / "sav-example" / "sav_000001_auto.json").read_text())
    masklet.mine(swan_clip.videos, output=tmp_path, options=NANO_MINING, progress=False)
    mined = json.loads((tmp_path / "blackswan_auto.json").read_text())
    assert set(mined) <= set(example)
    assert set(example) - set(mined) == {"video_duration", "video_environment", "video_split", "masklet_edited_frame_count"}
    count = mined["masklet_num"]
    assert mined["masklet_type"] == ["auto"] * count
    assert np.shape(mined["masklet_stability_score"]) == (CLIP_FRAMES, count)


def blob(frames: dict[int, tuple[int, int]], stability: float) -> Masklet:
    """A masklet of 10x10 squares at (row, col) per frame."""
    masklet = Masklet()
    for t, (r, c) in frames.items():
        mask = np.zeros((40, 40), bool)
        mask[r:r + 10, c:c + 10] = True
        masklet.masks[t], masklet.stability[t] = mask, stability
    return masklet


def test_unstable_and_repeated_masklets_are_dropped():
    options = MineOptions(dedup_iou=0.6, min_mean_stability=0.8)
    steady = blob({0: (0, 0), 1: (0, 1), 2: (0, 2)}, 0.95)
    repeat = blob({0: (0, 0), 1: (0, 1), 2: (0, 3)}, 0.9)  # mostly the same object, less stable
    other = blob({0: (20, 20), 1: (20, 21)}, 0.85)
    shaky = blob({0: (25, 0)}, 0.5)
    assert deduplicated([repeat, other, shaky, steady], options) == [steady, other]


def test_sav_every_keeps_every_nth_frame_as_sav_files_do(swan_clip, tmp_path):
    masklet.mine(swan_clip.videos, output=tmp_path / "all", options=NANO_MINING, progress=False)
    masklet.mine(swan_clip.videos, output=tmp_path / "every4", options=NANO_MINING, sav_every=4, progress=False)
    every_frame = read_sav_json(tmp_path / "all" / "blackswan_auto.json")
    sampled = read_sav_json(tmp_path / "every4" / "blackswan_auto.json")
    assert (sampled.frame_count, sampled.num_annotated_frames) == (CLIP_FRAMES, 2)
    assert sampled.masklet == every_frame.masklet[::4]
    assert np.shape(sampled.attributes["masklet_stability_score"]) == (2, len(sampled.object_ids))
