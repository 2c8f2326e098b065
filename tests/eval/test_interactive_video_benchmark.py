"""benchmarks/interactive_video.py on the first frames of the DAVIS sequences and two GrabCut
images with a tiny seeded model (the files and tables, not the segmentation)."""

from __future__ import annotations

import importlib.util
import json

import torch
from conftest import REPO, micro_config, require_shared_data, seeded_model, visible_objects

import masklet


def load_benchmark():
    spec = importlib.util.spec_from_file_location("interactive_video", REPO / "benchmarks" / "interactive_video.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_writes_results_curves_and_tables(tmp_path, capsys):
    data = require_shared_data()
    checkpoint = masklet.save_model(visible_objects(seeded_model(micro_config(128))), tmp_path / "micro.pt")
    out = tmp_path / "out"
    argv = ["--model", str(checkpoint), "--data", str(data), "--output", str(out), "--max-frames", "3",
            "--grabcut-limit", "2", "--max-interactions", "2", "--per-frame-max-interactions", "4"]
    threads = torch.get_num_threads()
    try:
        assert load_benchmark().main(argv) == 0
    finally:
        torch.set_num_threads(threads)
    for dataset, videos in (("davis", 4), ("grabcut", 2)):
        results = json.loads((out / dataset / "results.json").read_text())
        assert list(results["methods"]) == ["video", "image-per-frame", "image-then-propagate"]
        assert len(results["methods"]["video"]["videos"]) == videos
        assert (out / dataset / "curves.png").stat().st_size > 0
    davis = json.loads((out / "davis" / "results.json").read_text())
    assert davis["methods"]["image-per-frame"]["max_interactions"] == 4
    assert len(davis["methods"]["image-per-frame"]["summary"]["curve"]) == 4
    record = json.loads((out / "benchmark.json").read_text())
    assert record["machine"]["torch_threads"] == 1 and record["total_s"] > 0
    readme = (out / "README.md").read_text()
    assert "| davis | image-per-frame |" in readme and "![J&F per interaction on DAVIS](davis/curves.png)" in readme
    assert "| **mean** | video |" in capsys.readouterr().out
