"""benchmarks/long_runs.py, each mode briefly, so the long-run measurements keep working: a
short stream with objects coming and going, a short MP4 through the video predictor, and one
annotate run killed once and resumed."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from conftest import REPO, require_shared_data


@pytest.fixture(scope="module")
def long_runs():
    require_shared_data()
    spec = importlib.util.spec_from_file_location("long_runs", REPO / "benchmarks" / "long_runs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def run(long_runs, tmp_path, *argv) -> dict:
    output = tmp_path / "report.json"
    assert long_runs.main([*argv, "--output", str(output)]) == 0
    return json.loads(output.read_text())


def test_stream_mode(long_runs, tmp_path):
    report = run(long_runs, tmp_path, "stream", "--frames", "80", "--event-every", "10", "--sample-every", "5")
    # seeded: objects added on frames 0, 20, 40, 60, corrected on 10, 30, 50, one removed on 70
    assert report["prompts"] == {"added": 4, "removed": 1, "corrected": 3}
    assert report["live_objects"] == {"min": 1, "max": 4, "mean": 2.38}
    samples = report["samples"]
    assert [s["frame"] for s in samples] == [*range(0, 80, 5), 79]
    # the last object came 15+ frames before frame 75: its memory window is full, nothing grows
    assert samples[-2]["objects"] == samples[-1]["objects"] == 3
    assert samples[-2]["state_bytes"] == samples[-1]["state_bytes"] > 0
    assert report["frames_per_s"] > 0 and report["rss_peak_process_kib"] >= report["rss_peak_sampled_kib"] > 0


def test_propagate_mode(long_runs, tmp_path):
    report = run(long_runs, tmp_path, "propagate", "--frames", "30", "--size", "160x90", "--sample-every", "10")
    assert report["tracked_frames"] == 30 and report["objects"] == 2
    samples = report["samples"]
    assert [s["frame"] for s in samples] == [0, 10, 20, 29]
    # the offline predictor keeps every frame's outputs: its state grows by the same bytes per frame
    steps = {(b["state_bytes"] - a["state_bytes"]) / (b["frame"] - a["frame"]) for a, b in zip(samples[1:], samples[2:])}
    assert len(steps) == 1 and report["state_kib_per_object_frame"] == pytest.approx(steps.pop() / 2048, abs=0.01)


def test_resume_mode_gives_the_same_bytes(long_runs, tmp_path):
    report = run(long_runs, tmp_path, "resume", "--kills", "1", "--jobs", "images-coco", "--images", "9")
    job = report["jobs"]["images-coco"]
    assert job["items"] == 3 and len(job["kills"]) == 1
    assert job["byte_identical"] and report["byte_identical"]


def test_propagate_mode_with_bounded_memory(long_runs, tmp_path):
    report = run(long_runs, tmp_path, "propagate", "--bounded-memory", "--frames", "50", "--size", "160x90",
                 "--sample-every", "10")
    assert report["bounded_memory"] and report["tracked_frames"] == 50
    samples = report["samples"]
    # from frame 31 on each object keeps frames 1-15 (after its prompt) and the 16 up to the current one
    assert samples[-2]["frame"] == 40 and samples[-2]["state_bytes"] == samples[-1]["state_bytes"]
