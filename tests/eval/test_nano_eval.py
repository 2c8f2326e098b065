"""benchmarks/nano_eval.py on one DAVIS sequence and one GrabCut image with a tiny seeded model."""

from __future__ import annotations

import importlib.util
import json

from conftest import REPO, micro_config, require_shared_data, seeded_model, visible_objects

import masklet


def load_benchmark():
    spec = importlib.util.spec_from_file_location("nano_eval", REPO / "benchmarks" / "nano_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_and_tables(tmp_path, capsys):
    data = require_shared_data()
    checkpoint = masklet.save_model(visible_objects(seeded_model(micro_config(128))), tmp_path / "micro.pt")
    out = tmp_path / "eval.json"
    argv = ["--model", str(checkpoint), "--data", str(data), "--output", str(out), "--limit", "1",
            "--max-frames", "4", "--max-clicks", "5", "--workers", "1", "--predictions", str(tmp_path / "pred")]
    assert load_benchmark().main(argv) == 0
    report = json.loads(out.read_text())
    assert {"model", "machine", "davis", "grabcut", "total_s", "markdown"} <= set(report)
    assert report["machine"]["torch_threads"] >= 1 and report["machine"]["cpu_count"] >= 1
    davis = report["davis"]
    assert davis["sequences"] == ["blackswan"]
    for method in ("model", "copy_first_frame"):
        assert davis[method]["frames"] == 4 and 0 <= davis[method]["global"]["J&F"] <= 1
    # The copy baseline is model-free: blackswan's frames 1-2 against frame 0's mask.
    assert 0.8 < davis["copy_first_frame"]["global"]["J"] < 1
    assert len(list((tmp_path / "pred" / "copy_first_frame" / "blackswan").glob("*.png"))) == 4
    one_click = davis["one_click"]
    assert set(one_click["sequences"]) == {"blackswan"} and one_click["J&F"] == one_click["sequences"]["blackswan"]
    assert 0 <= one_click["J&F"] <= 1
    grabcut = report["grabcut"]
    assert "random_walker" not in grabcut and grabcut["model"]["summary"]["images"] == 1
    printed = capsys.readouterr().out
    assert "| **mean** | 4 |" in printed and "| copy first frame J |" in printed and "NoC@90" in printed
    assert "| sequence | blackswan | **mean** |" in printed and "DAVIS with one click" in printed
