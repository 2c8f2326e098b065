"""benchmarks/mask_tokens.py on three GrabCut images: the diagnostic behind masklet-lite's training
record runs, filters images as asked, and its summary agrees with its per-image records."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from conftest import REPO, require_shared_data


def _load():
    spec = importlib.util.spec_from_file_location("mask_tokens", REPO / "benchmarks" / "mask_tokens.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_mask_token_report(tmp_path):
    data = require_shared_data() / "interactive" / "GrabCut"
    module = _load()
    try:
        output = tmp_path / "report.json"
        assert module.main(["--data", str(data), "--include", "banana*", "--every", "1", "--output", str(output)]) == 0
        with pytest.raises(SystemExit, match="no image matches"):
            module.main(["--data", str(data), "--include", "nothing*"])
    finally:
        del sys.modules["mask_tokens"]
    report = json.loads(output.read_text())
    result = report["models"]["masklet-nano"]
    names = [r["name"] for r in result["images"]]
    assert names == ["banana1", "banana2", "banana3"]
    summary = result["summary"]
    for row in result["images"]:
        assert len(row["click_token_ious"]) == 3 and row["click_chosen_iou"] in row["click_token_ious"]
        assert 0 < row["area"] < 1
    assert summary["click_oracle_miou"] >= summary["click_chosen_miou"] > 0.2  # nano finds bananas
    assert summary["click_oracle_miou"] == pytest.approx(sum(max(r["click_token_ious"]) for r in result["images"]) / 3)
    assert sum(b["images"] for b in summary["by_size"].values()) == 3
    assert "| masklet-nano | 3 |" in report["markdown"]
