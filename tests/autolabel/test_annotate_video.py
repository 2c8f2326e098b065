"""`masklet.annotate` on a video: keyframe boxes prompt the tracker (8 frames of DAVIS blackswan
at half size, bundled masklet-nano)."""

from __future__ import annotations

import numpy as np
from autolabel_fixtures import *  # noqa: F401,F403
from autolabel_fixtures import CLIP_FRAMES, iou

import masklet
from masklet.io import read_davis_png, read_sav_json


def test_keyframe_boxes_are_propagated_between_keyframes(swan_clip, tmp_path):
    report = masklet.annotate(swan_clip.videos, swan_clip.boxes_csv, output=tmp_path, progress=False)
    assert (report.items, report.problems) == (1, [])
    video = read_sav_json(tmp_path / "blackswan.json")
    assert video.object_ids == [0]  # the keyframe-4 box continues the swan of keyframe 0
    assert video.attributes["masklet_category"] == ["swan"]
    ious = [iou(video.masks(t)[0], swan_clip.gt[t]) for t in range(CLIP_FRAMES)]
    print(f"\nmasklet-nano keyframe annotation, blackswan 8 frames at 427x240, J per frame: "
          f"{' '.join(f'{v:.2f}' for v in ious)} (mean {np.mean(ious):.3f})")
    assert np.mean(ious) > 0.45 and min(ious) > 0.3  # measured 0.59 (0.47..0.66)


def test_new_objects_start_and_lost_ones_end_on_keyframes(swan_clip, tmp_path):
    boxes = tmp_path / "boxes.csv"
    boxes.write_text(
        "image,x1,y1,x2,y2,category\n"
        + "".join(line + "\n" for line in swan_clip.boxes_csv.read_text().splitlines()[1:])
        + "blackswan/00000.jpg,0,0,60,40,water\n"  # only on keyframe 0: ends at frame 4
        + "blackswan/00004.jpg,360,190,427,240,bank\n"  # only on keyframe 4: starts there
    )
    report = masklet.annotate(swan_clip.videos, boxes, output=tmp_path / "out", output_format="davis", progress=False)
    assert report.problems == []
    labels = [read_davis_png(tmp_path / "out" / "blackswan" / f"{t:05d}.png") for t in range(CLIP_FRAMES)]
    assert all(not (label == 2).any() for label in labels[4:])
    assert all(not (label == 3).any() for label in labels[:4])
    assert iou(labels[2] == 1, swan_clip.gt[2]) > 0.3
    assert all(label.max() <= 3 for label in labels)


def test_an_unreadable_video_is_one_line_and_the_others_complete(swan_clip, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "blackswan").symlink_to(swan_clip.frames, target_is_directory=True)
    (videos / "broken.mp4").write_bytes(b"\x00not a video" * 50)
    report = masklet.annotate(videos, swan_clip.boxes_csv, output=tmp_path / "out", progress=False)
    assert report.failed == ["broken"] and len(report.problems) == 1
    assert "broken.mp4" in report.problems[0]
    assert (tmp_path / "out" / "blackswan.json").is_file() and not (tmp_path / "out" / "broken.json").exists()
