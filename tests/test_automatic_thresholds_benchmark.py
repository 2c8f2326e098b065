"""benchmarks/automatic_thresholds.py on two GrabCut images with a small grid, so the calibration
behind `MODEL_THRESHOLDS` keeps working and its rule holds: the chosen pair keeps at least 95% of
the unfiltered recall and no more masks than any other pair that does."""

from __future__ import annotations

import importlib.util
import json
import sys

from conftest import REPO, require_shared_data


def test_calibration_follows_its_rule(tmp_path):
    data = require_shared_data() / "interactive" / "GrabCut"
    spec = importlib.util.spec_from_file_location("automatic_thresholds", REPO / "benchmarks" / "automatic_thresholds.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        output = tmp_path / "report.json"
        assert module.main(["--model", "masklet-nano", "--data", str(data), "--limit", "2", "--points-per-side", "4",
                            "--threads", "2", "--output", str(output)]) == 0
    finally:
        del sys.modules[spec.name]
    report = json.loads(output.read_text())
    assert set(report["offsets"]) == {"1.0", "0.5", "0.25"}
    for offset in report["offsets"].values():
        table, chosen, unfiltered = offset["table"], offset["chosen"], offset["unfiltered_recall"]
        assert 0 < unfiltered <= 1
        assert table[0]["pred_iou_thresh"] == table[0]["stability_score_thresh"] == 0  # filters off
        assert table[0]["recall"] == unfiltered
        assert chosen["recall"] >= 0.95 * unfiltered
        assert chosen["masks"] == min(r["masks"] for r in table if r["recall"] >= 0.95 * unfiltered)
    assert report["chosen"]["masks"] == min(o["chosen"]["masks"] for o in report["offsets"].values())
