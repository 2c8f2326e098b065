"""SA-V JSON ground truth scores exactly as the same masks written in the per-object PNG layout."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import require_shared_data
from PIL import Image

from masklet.eval import evaluate_vos
from masklet.io.rle import rle_decode
from masklet.io.sav import read_sav_json

KEPT_FROM = 108  # the example's last 13 annotated frames (object 3 first appears on frame 113)


def _trimmed_example(folder):
    """The shared SA-V example cut to its last annotated frames (scoring all 121 takes minutes
    on a small CPU), saved as <folder>/sav_000001_manual.json."""
    data = json.loads((require_shared_data() / "sav-example" / "sav_000001_manual.json").read_text())
    data["masklet"] = data["masklet"][KEPT_FROM:]
    data["video_frame_count"] = 4 * len(data["masklet"])
    folder.mkdir()
    path = folder / "sav_000001_manual.json"
    path.write_text(json.dumps(data))
    return folder, read_sav_json(path)


def _write_png_layout(video, root, perturb=None):
    """Each visible object's masks from its first appearance on, as <video>/<obj>/<frame>.png."""
    first = video.first_appearance()
    for k, obj_id in enumerate(video.object_ids):
        if obj_id not in first:
            continue
        folder = root / video.video_id / f"{obj_id:03d}"
        folder.mkdir(parents=True)
        for t in range(first[obj_id], video.num_annotated_frames):
            mask = rle_decode(video.masklet[t][k])
            if perturb is not None:
                mask = perturb(mask, t, obj_id)
            Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f"{t * 4:05d}.png")


def _shift_and_drop(mask, t, obj_id):
    """A wrong prediction: shifted by a few pixels, blank on some frames of object 1."""
    if obj_id == 1 and t % 7 == 0:
        return np.zeros_like(mask)
    return np.roll(mask, shift=(3 * (t % 3), 2), axis=(0, 1))


def test_json_ground_truth_scores_like_png_ground_truth(tmp_path):
    gt_json_dir, video = _trimmed_example(tmp_path / "json")
    gt_png, exact, perturbed = tmp_path / "gt", tmp_path / "exact", tmp_path / "perturbed"
    _write_png_layout(video, gt_png)
    _write_png_layout(video, exact)
    _write_png_layout(video, perturbed, _shift_and_drop)

    perfect = evaluate_vos(gt_json_dir, exact, format="sav-json", workers=1)
    assert perfect["global"]["J&F"] == 1.0
    for pred in (exact, perturbed):
        from_json = evaluate_vos(gt_json_dir, pred, format="sav-json", workers=1)
        from_png = evaluate_vos(gt_png, pred, format="sav", workers=1)
        assert from_json == from_png
    assert from_json["global"]["J"] < 0.99
    objects = from_json["sequences"]["sav_000001"]["objects"]
    assert set(objects) == {"000", "001", "002", "003", "004"}
    assert from_json["sequences"]["sav_000001"]["frames"] == 4 * (13 - 2) + (121 - 113 - 2)


def test_json_ground_truth_needs_every_prediction(tmp_path):
    gt_json_dir, video = _trimmed_example(tmp_path / "json")
    _write_png_layout(video, tmp_path / "pred")
    (tmp_path / "pred" / "sav_000001" / "002" / "00020.png").unlink()
    with pytest.raises(ValueError, match=r"missing prediction .*002.00020\.png"):
        evaluate_vos(gt_json_dir, tmp_path / "pred", format="sav-json", workers=1)
    (tmp_path / "pred" / "sav_000002").mkdir()
    with pytest.raises(ValueError, match="sav_000002_manual.json"):
        evaluate_vos(gt_json_dir, tmp_path / "pred", format="sav-json", workers=1)


def test_cli_eval_vos_sav_json(tmp_path, capsys):
    from masklet.cli import main

    gt_json_dir, video = _trimmed_example(tmp_path / "json")
    _write_png_layout(video, tmp_path / "pred")
    argv = ["eval", "vos", "--format", "sav-json", "--gt", str(gt_json_dir), "--pred", str(tmp_path / "pred"), "--workers", "1"]
    assert main(argv) == 0
    assert "J&F 1.0000" in capsys.readouterr().out
