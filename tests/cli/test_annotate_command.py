"""`masklet annotate` and `masklet mine` on the command line: outputs, exit codes, one-line errors."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest
from conftest import require_shared_data
from conftest import run_cli as run
from PIL import Image

IMAGES = ("cat00_000000197528", "pizza00_000000197022")


@pytest.fixture
def images(tmp_path):
    data = require_shared_data() / "images-with-masks" / "COCO_MVal"
    folder = tmp_path / "photos"
    folder.mkdir()
    rows = []
    for stem in IMAGES:
        (folder / f"{stem}.jpg").write_bytes((data / "img" / f"{stem}.jpg").read_bytes())
        ys, xs = np.nonzero(np.asarray(Image.open(data / "gt" / f"{stem}.png").convert("L")) > 127)
        rows.append(f"{stem}.jpg,{xs.min()},{ys.min()},{xs.max() + 1},{ys.max() + 1},thing")
    boxes = tmp_path / "boxes.csv"
    boxes.write_text("image,x1,y1,x2,y2,category\n" + "\n".join(rows) + "\n")
    return folder, boxes


def test_annotate_writes_yolo_labels_in_the_ultralytics_folder(capsys, images):
    folder, boxes = images
    code, out, err = run(capsys, "annotate", folder, "--boxes", boxes, "--no-progress")
    labels = folder.parent / "photos_auto_annotate_labels"
    assert code == 0, err
    assert f"annotated 1 of 1 item(s) into {labels}" in out
    assert (labels / "classes.txt").read_text() == "thing\n"
    assert all((labels / f"{stem}.txt").read_text().startswith("0 ") for stem in IMAGES)
    code, out, _ = run(capsys, "annotate", folder, "--boxes", boxes, "--no-progress")
    assert code == 0 and "(1 done by an earlier run)" in out


def test_problems_make_exit_code_1_and_go_to_the_report(capsys, images, tmp_path):
    folder, boxes = images
    boxes.write_text(boxes.read_text() + f"{IMAGES[0]}.jpg,5000,5000,5100,5100,thing\n")
    code, out, _ = run(capsys, "annotate", folder, "--boxes", boxes, "--format", "coco", "--output", tmp_path / "o",
                       "--no-progress")
    assert code == 1 and "1 problem(s)" in out
    (line,) = (tmp_path / "o" / "report.txt").read_text().splitlines()
    assert IMAGES[0] in line and line.endswith("box [5000, 5000, 5100, 5100] lies outside the 480x640 image; box skipped")
    assert len(json.loads((tmp_path / "o" / "annotations.json").read_text())["annotations"]) == 2


@pytest.mark.parametrize("argv, message", [
    (["--boxes", "b.csv", "--detector", "y.pt"], "give --boxes FILE|DIR or --detector WEIGHTS"),
    (["--boxes", "b.txt"], "cannot tell the box format"),
    (["--boxes", "b.csv", "--format", "sav"], "format 'sav' is not one for images"),
    (["--boxes", "b.csv", "--ray-address", "auto"], "--ray-address is for --engine ray"),
])
def test_bad_arguments_are_one_line(capsys, images, argv, message):
    folder, boxes = images
    argv = [str(boxes.parent / a) if a.startswith("b.") else a for a in argv]
    (boxes.parent / "b.txt").write_text("x")
    code, _, err = run(capsys, "annotate", folder, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_missing_source_and_missing_engine_are_one_line(capsys, images, tmp_path, monkeypatch):
    _, boxes = images
    code, _, err = run(capsys, "annotate", tmp_path / "nowhere", "--boxes", boxes)
    assert code == 2 and "no such file or folder" in err
    monkeypatch.setitem(sys.modules, "ray", None)
    code, _, err = run(capsys, "annotate", images[0], "--boxes", boxes, "--engine", "ray")
    assert code == 2 and "pip install 'masklet[ray]'" in err


@pytest.mark.skipif(importlib.util.find_spec("ultralytics") is not None, reason="ultralytics is installed")
def test_detector_without_ultralytics_is_one_line(capsys, images):
    code, _, err = run(capsys, "annotate", images[0], "--detector", "yolo11n.pt")
    assert code == 2 and "pip install ultralytics" in err


def test_mine_writes_sav_auto_json(capsys, tmp_path):
    davis = require_shared_data() / "davis2016-val" / "JPEGImages" / "480p" / "blackswan"
    frames = tmp_path / "clip"
    frames.mkdir()
    for t in range(4):
        Image.open(davis / f"{t:05d}.jpg").resize((214, 120)).save(frames / f"{t:05d}.png")
    code, out, err = run(capsys, "mine", frames, "--output", tmp_path / "auto", "--points-per-side", "4",
                         "--pred-iou-thresh", "0", "--stability-score-thresh", "0", "--min-mean-stability", "0",
                         "--no-progress")
    assert code == 0, err
    mined = json.loads((tmp_path / "auto" / "clip_auto.json").read_text())
    assert mined["video_frame_count"] == 4 and mined["masklet_num"] == len(mined["masklet_id"])
    code, _, err = run(capsys, "mine", frames, "--output", tmp_path / "x", "--keyframe-every", "0")
    assert code == 2 and "keyframe_every must be >= 1" in err


def test_a_model_that_cannot_load_is_one_line(capsys, images, tmp_path):
    folder, boxes = images
    code, _, err = run(capsys, "annotate", folder, "--boxes", boxes, "--output", tmp_path / "o",
                       "--model", tmp_path / "missing.pt", "--no-progress")
    assert code == 2 and "missing.pt" in err and len(err.strip().splitlines()) == 1, err


def test_sav_every_must_be_positive(capsys, images):
    code, _, err = run(capsys, "annotate", images[0], "--boxes", images[1], "--sav-every", "0")
    assert code == 2 and "--sav-every must be >= 1, got 0" in err
