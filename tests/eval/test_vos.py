"""VOS metrics against the DAVIS evaluator's published behaviour and hand-made cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require_shared_data
from PIL import Image
from scipy import ndimage

from masklet.eval import boundary_measure, evaluate_vos, region_similarity, statistics
from masklet.eval.vos import write_results
from masklet.eval.vos_metrics import _within, boundary_map

# ../shared/data/README.md: OSVOS on DAVIS-2016 val, scored by the DAVIS-2017 evaluator.
GOLDEN = {
    "blackswan": (0.9430, 1.000, 0.001, 0.9741, 1.000, -0.000),
    "car-shadow": (0.9284, 1.000, 0.110, 0.9174, 1.000, 0.170),
    "dog": (0.7108, 0.724, 0.148, 0.6911, 0.793, 0.131),
    "motocross-jump": (0.8156, 1.000, 0.004, 0.6207, 0.816, 0.052),
}


def test_osvos_scores_reproduce_the_official_table():
    data = require_shared_data() / "davis2016-val"
    results = evaluate_vos(data / "Annotations" / "480p", data / "osvos-predictions")
    for name, expected in GOLDEN.items():
        seq = results["sequences"][name]
        got = [seq[m][s] for m in ("J", "F") for s in ("mean", "recall", "decay")]
        for value, want, label in zip(got, expected, ["J mean", "J recall", "J decay", "F mean", "F recall", "F decay"]):
            places = 4 if "mean" in label else 3
            assert round(value, places) == pytest.approx(want, abs=1e-9), f"{name} {label}: {value}"
    g = results["global"]
    assert g["J&F"] == pytest.approx((g["J"] + g["F"]) / 2)


def test_empty_masks():
    empty = np.zeros((20, 30), bool)
    full = np.zeros((20, 30), bool)
    full[5:15, 5:20] = True
    assert region_similarity(empty, empty) == 1.0 and boundary_measure(empty, empty) == 1.0
    assert region_similarity(full, empty) == 0.0 and boundary_measure(full, empty) == 0.0
    assert region_similarity(empty, full) == 0.0 and boundary_measure(empty, full) == 0.0
    assert region_similarity(full, full) == 1.0 and boundary_measure(full, full) == 1.0


def test_void_pixels_are_ignored():
    truth = np.zeros((10, 10), bool)
    truth[2:6, 2:6] = True
    pred = truth.copy()
    pred[7:9, 7:9] = True  # a wrong blob ...
    void = np.zeros_like(truth)
    void[6:, 6:] = True  # ... inside the void region
    assert region_similarity(truth, pred) < 1.0
    assert region_similarity(truth, pred, void) == 1.0
    assert boundary_measure(truth, pred, void) == 1.0


def test_boundary_map_of_a_square():
    m = np.zeros((6, 6), bool)
    m[1:4, 1:4] = True
    edges = boundary_map(m)
    # pixels whose right/lower/diagonal neighbour differs: the outer ring's right/bottom side
    # plus the pixels just outside the top-left
    assert edges.sum() > 0 and not edges[2, 2]
    assert edges[3, 3] and edges[0, 0]


def test_distance_dilation_equals_disk_dilation():
    rng = np.random.default_rng(0)
    edges = rng.random((60, 80)) > 0.995
    for radius in (1, 3, 8):
        span = np.arange(-radius, radius + 1)
        disk = span[None, :] ** 2 + span[:, None] ** 2 <= radius**2
        np.testing.assert_array_equal(_within(edges, radius), ndimage.binary_dilation(edges, structure=disk))


def test_statistics_recall_and_decay():
    values = np.array([1.0, 1.0, 0.9, 0.8, 0.4, 0.3, 0.2, 0.1])
    s = statistics(values)
    assert s["mean"] == pytest.approx(values.mean())
    assert s["recall"] == pytest.approx(4 / 8)
    assert s["decay"] > 0.5


def _write_sequence(root, name, frames):
    folder = root / name
    folder.mkdir(parents=True)
    for i, labels in enumerate(frames):
        Image.fromarray(labels.astype(np.uint8), mode="L").save(folder / f"{i:05d}.png")


def _frames(n=4, shape=(24, 32)):
    out = []
    for i in range(n):
        m = np.zeros(shape, np.uint8)
        m[4 + i : 12 + i, 4:14] = 1
        m[14:20, 18 + i : 26 + i] = 2
        out.append(m)
    return out


def test_multi_object_folder_scoring_and_outputs(tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    frames = _frames()
    _write_sequence(gt, "seq", frames)
    wrong = [f.copy() for f in frames]
    for f in wrong:
        f[f == 2] = 0  # object 2 missed entirely
        f[0:2, 0:2] = 7  # an extra object the truth does not have: ignored
    _write_sequence(pred, "seq", wrong)
    results = evaluate_vos(gt, pred, workers=1)
    objects = results["sequences"]["seq"]["objects"]
    assert set(objects) == {"1", "2"}
    assert objects["1"]["J"]["mean"] == 1.0 and objects["2"]["J"]["mean"] == 0.0
    assert results["global"]["J"] == pytest.approx(0.5)
    json_path, csv_path = write_results(results, tmp_path / "out" / "results.json")
    assert json.loads(json_path.read_text())["global"]["J"] == pytest.approx(0.5)
    assert csv_path.read_text().splitlines()[0].startswith("sequence,J-mean")


def test_missing_frame_and_size_mismatch_are_clear_errors(tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    frames = _frames()
    _write_sequence(gt, "seq", frames)
    _write_sequence(pred, "seq", frames[:2])
    with pytest.raises(ValueError, match="missing prediction"):
        evaluate_vos(gt, pred, workers=1)
    _write_sequence(tmp_path / "pred2", "seq", [np.zeros((10, 10), np.uint8)] * 4)
    with pytest.raises(ValueError, match="differs from the annotation"):
        evaluate_vos(gt, tmp_path / "pred2", workers=1)
    with pytest.raises(ValueError, match="no ground truth"):
        _write_sequence(tmp_path / "pred3", "other", frames)
        evaluate_vos(gt, tmp_path / "pred3", workers=1)
    with pytest.raises(ValueError, match="does not match"):
        region_similarity(np.zeros((3, 3)), np.zeros((4, 4)))


def test_cli_eval_vos(tmp_path, capsys):
    from masklet.cli import main

    gt, pred = tmp_path / "gt", tmp_path / "pred"
    _write_sequence(gt, "seq", _frames())
    _write_sequence(pred, "seq", _frames())
    out = tmp_path / "res" / "results.json"
    assert main(["eval", "vos", "--gt", str(gt), "--pred", str(pred), "--output", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "J&F 1.0000" in printed and out.exists() and out.with_suffix(".csv").exists()
    assert main(["eval", "vos", "--gt", str(tmp_path / "nope"), "--pred", str(pred)]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "vos", "--help"])
    assert exit_info.value.code == 0


def test_sav_layout_gives_the_same_scores(tmp_path):
    """The SA-V evaluator scores the OSVOS results like DAVIS (../shared/data/README.md)."""
    data = require_shared_data() / "davis2016-val"
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    for seq in ("blackswan", "dog"):
        for src, dst in ((data / "Annotations" / "480p" / seq, gt), (data / "osvos-predictions" / seq, pred)):
            (dst / seq / "001").mkdir(parents=True)
            for frame in sorted(src.glob("*.png")):
                labels = (np.asarray(Image.open(frame)) > 0).astype(np.uint8) * 255
                Image.fromarray(labels).save(dst / seq / "001" / frame.name)
    results = evaluate_vos(gt, pred, format="sav")
    for seq in ("blackswan", "dog"):
        got = results["sequences"][seq]
        assert round(got["J"]["mean"], 4) == GOLDEN[seq][0] and round(got["F"]["mean"], 4) == GOLDEN[seq][3]


def test_sav_objects_appearing_later_are_scored_on_their_frames(tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    square = np.zeros((16, 16), np.uint8)
    square[4:10, 4:10] = 255
    for root in (gt, pred):
        for obj, frames in (("000", range(6)), ("001", range(3, 6))):
            (root / "vid" / obj).mkdir(parents=True)
            for t in frames:
                Image.fromarray(square).save(root / "vid" / obj / f"{t:05d}.png")
    # a wrong prediction on object 001's first annotated frame is not scored (it is the prompt)
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(pred / "vid" / "001" / "00003.png")
    results = evaluate_vos(gt, pred, format="sav", workers=1)
    seq = results["sequences"]["vid"]
    assert seq["objects"]["000"]["J"]["mean"] == 1.0 and seq["objects"]["001"]["J"]["mean"] == 1.0
    assert seq["frames"] == 4 + 1
    with pytest.raises(ValueError, match="unknown layout"):
        evaluate_vos(gt, pred, format="ytvos")
