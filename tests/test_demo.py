"""`make demo` end to end on a few frames with a tiny seeded model (random-weight masks: these
tests check the files and figures, not the segmentation)."""

from __future__ import annotations

import av
import numpy as np
import pytest
from conftest import micro_config, require_shared_data, seeded_model, visible_objects
from PIL import Image

import masklet
from masklet.demo import main, run_demo
from masklet.demo_clips import photo_clip

FRAMES = 4


@pytest.fixture(scope="module")
def model():
    return visible_objects(seeded_model(micro_config(128)))


def video_frames(path) -> tuple[int, tuple[int, int]]:
    """(decoded frame count, (width, height)) of a video file."""
    with av.open(str(path)) as container:
        frames = [frame for frame in container.decode(video=0)]
    return len(frames), (frames[0].width, frames[0].height)


def check_scores(scores):
    assert set(scores) == {"J", "F", "J&F"}
    assert all(0.0 <= scores[m]["mean"] <= 1.0 for m in ("J", "F")) and 0.0 <= scores["J&F"] <= 1.0


def test_photo_clip_needs_no_shared_data(model, tmp_path):
    result = run_demo(model, tmp_path / "out", data=tmp_path / "no-shared-data", frames=FRAMES)
    assert (result.source, result.clip, result.frames) == ("photo", "coffee", FRAMES)
    assert video_frames(result.video) == (FRAMES, (480, 320))
    masks = sorted(result.masks.glob("*.png"))
    assert [p.name for p in masks] == [f"{i:05d}.png" for i in range(FRAMES)]
    for png in masks:
        with Image.open(png) as image:
            assert image.mode == "P" and image.size == (480, 320)
            assert set(np.unique(np.asarray(image)).tolist()) <= {0, 1}
    assert len(list((tmp_path / "out" / "truth" / "coffee").glob("*.png"))) == FRAMES
    check_scores(result.scores)
    assert result.frames_per_second > 0


def test_photo_clip_ground_truth_follows_the_camera():
    clip = photo_clip(5)
    assert len(clip.frames) == len(clip.truth) == 5 and clip.frames[0].shape == (320, 480, 3)
    areas = [t.mean() for t in clip.truth]
    assert 0.3 < areas[0] < 0.6 and areas[-1] > areas[0]  # the camera zooms in on the cup
    x1, y1, x2, y2 = clip.first_box
    assert 0 < x1 < x2 < 480 and 0 < y1 < y2 < 320  # the whole object is in view on frame 0


def test_davis_sequence_when_the_data_is_there(model, tmp_path):
    data = require_shared_data()
    result = run_demo(model, tmp_path / "out", data=data, frames=FRAMES)
    assert (result.source, result.clip, result.frames) == ("davis", "blackswan", FRAMES)
    assert video_frames(result.video) == (FRAMES, (854, 480))
    assert len(list(result.masks.glob("*.png"))) == FRAMES
    check_scores(result.scores)


def test_command_line(model, tmp_path, capsys, monkeypatch):
    checkpoint = masklet.save_model(model, tmp_path / "micro.pt")
    out = tmp_path / "out"
    assert main(["--model", str(checkpoint), "--source", "photo", "--frames", "3", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "frames/s" in printed and "J&F" in printed and str(out / "overlay.mp4") in printed

    monkeypatch.setattr("masklet.cli.common.embedded_model_path", lambda: None)
    assert main(["--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no embedded model is bundled" in err and "--model" in err
    assert main(["--model", str(checkpoint), "--source", "davis", "--data", str(tmp_path / "none")]) == 2
    assert "use --source photo" in capsys.readouterr().err


def test_unknown_sequence_is_an_error(model, tmp_path):
    data = require_shared_data()
    with pytest.raises(ValueError, match="no frames for sequence 'nope'"):
        run_demo(model, tmp_path, data=data, sequence="nope", frames=3)
