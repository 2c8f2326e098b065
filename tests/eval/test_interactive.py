"""Click simulation against a brute-force statement of the rule, and the benchmark loop."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from conftest import micro_config, require_shared_data, seeded_model

import masklet
from masklet.eval.interactive import (
    Click,
    PredictorClicker,
    iou,
    next_click,
    read_image_mask_folder,
    run_interactive,
    summarize,
)


def brute_force_click(truth, pred, ignore=None):
    """The rule, spelled out: depth = distance to the nearest pixel outside the region (the
    frame around the image counts as outside); click the deepest pixel of the deeper error."""
    h, w = truth.shape
    valid = np.ones_like(truth) if ignore is None else ~ignore
    regions = {True: truth & ~pred & valid, False: ~truth & pred & valid}
    outside = {k: [(y, x) for y in range(-1, h + 1) for x in range(-1, w + 1)
                   if not (0 <= y < h and 0 <= x < w) or not r[y, x]] for k, r in regions.items()}
    best = {}
    for positive, region in regions.items():
        depth, where = 0.0, (0, 0)
        for y, x in itertools.product(range(h), range(w)):
            if region[y, x]:
                d = min(np.hypot(y - oy, x - ox) for oy, ox in outside[positive])
                if d > depth:
                    depth, where = d, (y, x)
        best[positive] = (depth, where)
    positive = best[True][0] > best[False][0]
    y, x = best[positive][1]
    return Click(x, y, positive)


CASES = []
_rng = np.random.default_rng(0)
for _ in range(12):
    truth = np.zeros((12, 14), bool)
    y0, x0 = _rng.integers(0, 6, 2)
    truth[y0 : y0 + _rng.integers(3, 7), x0 : x0 + _rng.integers(3, 8)] = True
    pred = np.zeros_like(truth)
    y1, x1 = _rng.integers(0, 8, 2)
    pred[y1 : y1 + _rng.integers(2, 6), x1 : x1 + _rng.integers(2, 6)] = True
    ignore = _rng.random(truth.shape) > 0.9 if _ in (3, 7) else None
    CASES.append((truth, pred, ignore))


@pytest.mark.parametrize("truth, pred, ignore", CASES)
def test_next_click_equals_brute_force(truth, pred, ignore):
    assert next_click(truth, pred, ignore) == brute_force_click(truth, pred, ignore)


def test_first_click_is_centre_of_object():
    truth = np.zeros((21, 21), bool)
    truth[5:16, 5:16] = True
    assert next_click(truth, np.zeros_like(truth)) == Click(10, 10, True)


def test_negative_click_when_false_positive_is_deeper():
    truth = np.zeros((20, 20), bool)
    truth[0:3, 0:3] = True
    pred = truth.copy()
    pred[8:19, 8:19] = True
    click = next_click(truth, pred)
    assert not click.positive and (click.x, click.y) == (13, 13)


def test_ignored_pixels_neither_errors_nor_iou():
    truth = np.zeros((10, 10), bool)
    truth[2:8, 2:8] = True
    ignore = np.zeros_like(truth)
    ignore[:, 6:] = True
    pred = truth & ~ignore
    assert iou(truth, pred, ignore) == 1.0 and iou(truth, pred) < 1.0


def test_summary_noc():
    ious = [[0.5, 0.86, 0.95], [0.95, 0.95, 0.95], [0.1, 0.2, 0.3]]
    s = summarize(ious, max_clicks=3)
    assert s["NoC@85"] == pytest.approx((2 + 1 + 3) / 3)
    assert s["NoC@90"] == pytest.approx((3 + 1 + 3) / 3)
    assert s["mIoU@1"] == pytest.approx((0.5 + 0.95 + 0.1) / 3)


def test_grabcut_end_to_end_with_a_model():
    data = require_shared_data() / "interactive" / "GrabCut"
    names = [n for n, *_ in read_image_mask_folder(data)]
    assert len(names) == 50
    bands = [ignore is not None for _, _, _, ignore in read_image_mask_folder(data)]
    assert any(bands), "GrabCut masks carry a 128 ignore band"
    cfg = masklet.SAM2Config(
        name="bench-small", image_size=256,
        trunk=masklet.HieraConfig(embed_dim=32, stages=(1, 1, 2, 1), global_att_blocks=(2,), window_spec=(4, 4, 4, 4)),
    )
    torch.manual_seed(0)
    clicker = PredictorClicker(masklet.ImagePredictor(masklet.build_model(cfg)))
    result = run_interactive(clicker, data, max_clicks=3, limit=3, progress=False)
    assert result["summary"]["images"] == 3
    assert all(len(v) == 3 and all(0 <= x <= 1 for x in v) for v in result["per_image"].values())
    assert 1 <= result["summary"]["NoC@90"] <= 3


def test_cli_eval_interactive_on_grabcut(tmp_path, capsys, monkeypatch):
    from masklet.cli import main

    data = require_shared_data() / "interactive" / "GrabCut"
    checkpoint = masklet.save_model(seeded_model(micro_config(128)), tmp_path / "micro.pt")
    out = tmp_path / "runs" / "grabcut.json"
    argv = ["eval", "interactive", "--data", str(data), "--max-clicks", "3", "--limit", "2"]
    assert main([*argv, "--model", str(checkpoint), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mIoU@1" in printed and "2 images, 3 clicks each" in printed
    report = json.loads(out.read_text())
    assert {"data", "model", "max_clicks", "seconds", "summary", "per_image"} <= set(report)
    assert set(report["summary"]) == {"mIoU@1", "mIoU@5", "NoC@85", "NoC@90", "images"}
    assert report["summary"]["images"] == 2 and report["max_clicks"] == 3
    assert all(0 <= report["summary"][k] <= 1 for k in ("mIoU@1", "mIoU@5"))
    assert all(1 <= report["summary"][k] <= 3 for k in ("NoC@85", "NoC@90"))
    assert len(report["per_image"]) == 2 and all(len(v) == 3 for v in report["per_image"].values())

    monkeypatch.setattr("masklet.cli.common.embedded_model_path", lambda: None)
    assert main(argv) == 2
    assert "pass --model" in capsys.readouterr().err
    assert main([*argv, "--model", str(checkpoint), "--data", str(tmp_path)]) == 2
    assert "expected data_GT/ + boundary_GT/" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--model", str(checkpoint), "--max-clicks", "0"])
    assert exit_info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err
