"""Class-agnostic mask AP / AR with pycocotools."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require_shared_data

from masklet.eval.mask_ap import evaluate_mask_ap

pytest.importorskip("pycocotools")


def _square(y, x, size=10, shape=(40, 40)):
    mask = np.zeros(shape, bool)
    mask[y : y + size, x : x + size] = True
    return mask


def _records(masks, scores):
    return [{"segmentation": m, "predicted_iou": s} for m, s in zip(masks, scores)]


def test_perfect_predictions_score_one():
    gt = [[_square(2, 2), _square(20, 20)], [_square(5, 25, size=12)]]
    predictions = [_records(masks, [0.9] * len(masks)) for masks in gt]
    stats = evaluate_mask_ap(gt, predictions)
    assert stats["AP"] == 1.0 and stats["AP50"] == 1.0 and stats["AP75"] == 1.0 and stats["AR@100"] == 1.0
    assert stats["AP_large"] is None  # no ground truth in the range: COCO's -1


def test_disjoint_predictions_score_zero():
    gt = [[_square(2, 2)]]
    stats = evaluate_mask_ap(gt, [_records([_square(25, 25)], [0.9])])
    assert stats["AP"] == 0.0 and stats["AR@100"] == 0.0
    assert evaluate_mask_ap(gt, [[]])["AP"] == 0.0


def test_half_found_by_hand():
    """Two objects, one found exactly: precision 1 up to recall 0.5 and nothing beyond, so the
    101-point interpolated AP is 51/101; a false positive ranked above the hit halves it."""
    a, b, wrong = _square(2, 2), _square(20, 20), _square(2, 28)
    below = evaluate_mask_ap([[a, b]], [_records([a, wrong], [0.9, 0.5])])
    assert below["AP"] == pytest.approx(51 / 101) and below["AR@100"] == pytest.approx(0.5)
    above = evaluate_mask_ap([[a, b]], [_records([a, wrong], [0.5, 0.9])])
    assert above["AP"] == pytest.approx(0.5 * 51 / 101) and above["AR@1"] == 0.0


def test_rle_segmentations_and_errors():
    from masklet.io.rle import rle_encode

    a = _square(2, 2)
    stats = evaluate_mask_ap([[a]], [[{"segmentation": rle_encode(a), "predicted_iou": 0.7}]])
    assert stats["AP"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="images of ground truth"):
        evaluate_mask_ap([[a]], [])
    with pytest.raises(ValueError, match="no masks"):
        evaluate_mask_ap([[]], [[]])


def test_cli_ap_on_two_coco_images(micro_model, tmp_path, capsys):
    import masklet
    from masklet.cli import main

    data = require_shared_data() / "images-with-masks" / "COCO_MVal"
    checkpoint = masklet.save_model(micro_model, tmp_path / "micro.pt")
    out = tmp_path / "ap.json"
    argv = ["eval", "ap", "--images", str(data / "img"), "--gt", str(data / "gt"), "--limit", "2",
            "--points-per-side", "4", "--pred-iou-thresh", "0", "--stability-score-thresh", "0", "--output", str(out)]
    assert main([*argv, "--model", str(checkpoint)]) == 0
    results = json.loads(out.read_text())
    assert results["images"] == 2 and 0.0 <= results["AP"] <= 1.0 and 0.0 <= results["AR@100"] <= 1.0
    assert "AP50" in capsys.readouterr().out
    assert main([*argv, "--model", str(checkpoint), "--gt", str(tmp_path)]) == 2
    assert "no ground truth" in capsys.readouterr().err


def test_missing_pycocotools_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pycocotools", None)
    with pytest.raises(ImportError, match="pip install pycocotools"):
        evaluate_mask_ap([[_square(2, 2)]], [[]])
