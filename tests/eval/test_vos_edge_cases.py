"""Scoring edge cases at the folder level (the DAVIS evaluator's behaviour)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from masklet.eval import evaluate_vos


def _write(root, frames, name="seq"):
    folder = root / name
    folder.mkdir(parents=True)
    for i, labels in enumerate(frames):
        Image.fromarray(labels.astype(np.uint8)).save(folder / f"{i:05d}.png")
    return folder


def _two_objects(n=5, shape=(24, 32)):
    """Object 1 on every frame; object 2 only on the first and last (absent in between)."""
    frames = []
    for i in range(n):
        labels = np.zeros(shape, np.uint8)
        labels[2:10, 2 + i : 10 + i] = 1
        if i in (0, n - 1):
            labels[14:20, 20:28] = 2
        frames.append(labels)
    return frames


def test_absent_object_predicted_absent_scores_one(tmp_path):
    frames = _two_objects()
    _write(tmp_path / "gt", frames)
    _write(tmp_path / "pred", frames)
    objects = evaluate_vos(tmp_path / "gt", tmp_path / "pred", workers=1)["sequences"]["seq"]["objects"]
    assert objects["2"]["J"]["mean"] == 1.0 and objects["2"]["F"]["mean"] == 1.0
    # an absent object predicted present is wrong
    wrong = [f.copy() for f in frames]
    wrong[2][14:20, 20:28] = 2
    _write(tmp_path / "wrong", wrong)
    objects = evaluate_vos(tmp_path / "gt", tmp_path / "wrong", workers=1)["sequences"]["seq"]["objects"]
    assert objects["2"]["J"]["mean"] == pytest.approx(2 / 3)


def test_void_pixels_in_annotations_are_not_scored(tmp_path):
    gt = _two_objects()
    for labels in gt:
        labels[:, 28:] = 255  # a void band on the right
    pred = [np.where(labels == 255, 1, labels) for labels in gt]  # object 1 spills into it
    _write(tmp_path / "gt", gt)
    _write(tmp_path / "pred", pred)
    results = evaluate_vos(tmp_path / "gt", tmp_path / "pred", workers=1)
    assert results["global"]["J"] == 1.0 and results["global"]["F"] == 1.0
    assert set(results["sequences"]["seq"]["objects"]) == {"1", "2"}  # 255 is void, not an object


def test_extra_predicted_objects_are_ignored(tmp_path):
    gt = _two_objects()
    pred = [f.copy() for f in gt]
    for labels in pred:
        labels[20:, :6] = 9
    _write(tmp_path / "gt", gt)
    _write(tmp_path / "pred", pred)
    results = evaluate_vos(tmp_path / "gt", tmp_path / "pred", workers=1)
    assert set(results["sequences"]["seq"]["objects"]) == {"1", "2"} and results["global"]["J&F"] == 1.0


def test_single_object_truth_takes_any_predicted_id(tmp_path):
    """DAVIS-2016 0/255 ground truth is one object; the prediction is binarised (label > 0)."""
    gt = [np.where(f == 1, 255, 0) for f in _two_objects()]
    pred = [np.where(f == 1, 3, 0) for f in _two_objects()]
    _write(tmp_path / "gt", gt)
    _write(tmp_path / "pred", pred)
    results = evaluate_vos(tmp_path / "gt", tmp_path / "pred", workers=1)
    assert list(results["sequences"]["seq"]["objects"]) == ["1"] and results["global"]["J"] == 1.0


def test_missing_prediction_frame_names_the_file(tmp_path):
    frames = _two_objects()
    _write(tmp_path / "gt", frames)
    pred = _write(tmp_path / "pred", frames)
    (pred / "00002.png").unlink()
    with pytest.raises(ValueError, match=f"missing prediction {pred / '00002.png'}"):
        evaluate_vos(tmp_path / "gt", tmp_path / "pred", workers=1)
    # the first and last frames are not scored, so they may be missing
    (pred / "00002.png").write_bytes((tmp_path / "gt" / "seq" / "00002.png").read_bytes())
    (pred / "00000.png").unlink()
    (pred / "00004.png").unlink()
    assert evaluate_vos(tmp_path / "gt", tmp_path / "pred", workers=1)["global"]["J"] == 1.0


def test_prediction_of_another_size_is_a_clear_error(tmp_path):
    _write(tmp_path / "gt", _two_objects())
    _write(tmp_path / "pred", _two_objects(shape=(48, 64)))
    with pytest.raises(ValueError, match=r"00001\.png: size \(64, 48\) differs from the annotation's \(32, 24\)"):
        evaluate_vos(tmp_path / "gt", tmp_path / "pred", workers=1)
