"""tools/soak/run.py, briefly: 2 clients for a few seconds with a `kill -9` under load, all its
checks passing; and the soak's model of the acknowledged state, which those checks rest on,
catching a lost mask, a lost undo and a change nobody acknowledged."""

from __future__ import annotations

import json
import sys

from serve_fixtures import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tools"))

from soak import run  # noqa: E402
from soak.expected import ExpectedMedia, Step  # noqa: E402


def test_short_soak_with_a_kill_passes_its_checks(tmp_path):
    output = tmp_path / "soak.json"
    argv = ["--clients", "2", "--seconds", "10", "--lru-media", "3", "--lru-clip", "2,160x96", "--frames", "3,4",
            "--restarts", "kill",
            "--output", str(output), "--workdir", str(tmp_path / "work")]
    code = run.main(argv)
    results = json.loads(output.read_text())
    assert code == 0, results["problems"]
    assert results["passed"] and not results["problems"]
    assert results["requests"]["requests"] > 20 and results["load"]["click_latency_ms"]["count"] > 0
    assert [r["signal"] for r in results["load"]["restarts"]] == ["kill"]
    assert results["second_server"]["exit_status"] == 2
    assert [r["sessions"] for r in results["lru"]["rss_by_media"]] == [1, 2, 2]  # --max-sessions 2
    assert not any(s.startswith("5") for s in results["requests"]["statuses"])


def test_model_of_the_acknowledged_state():
    media = ExpectedMedia(1, 1, num_frames=3, width=8, height=8, objects={1: "a"})
    media.add_step(Step(10, "prompt", {(1, 0): "A"}))
    media.add_step(Step(11, "propagation", {(1, 0): "B", (1, 1): "C"}))
    media.add_step(Step(12, "prompt", {(1, 1): "D"}))
    assert media.shown() == {(1, 0): "B", (1, 1): "D"}
    assert media.predicted_undo() == [12]
    media.mark([12], undone=True)
    assert media.predicted_undo() == [10, 11] and media.predicted_redo() == [12]
    media.mark([10, 11], undone=True)
    assert media.predicted_redo() == [10, 11] and media.history() == {"steps": 0, "can_undo": False, "can_redo": True}
    media.mark([10, 11], undone=False)
    media.add_step(Step(13, "prompt", {}, removes=1))  # drops the undone step 12
    assert [s.step_id for s in media.steps] == [10, 11, 13] and media.shown() == {}

    history = {"steps": 3, "can_undo": True, "can_redo": False}
    objects = [{"obj_id": 1, "name": "a", "removed": True}]
    assert media.differences(history, objects, []) == []
    assert media.differences(history, objects, [{"obj_id": 1, "frame_idx": 0, "counts": "B"}])  # shown though removed
    assert media.differences({**history, "steps": 2}, objects, [])  # a step lost
    assert media.differences(history, [], [])  # an object lost


def test_a_lost_answer_limits_the_comparison_to_what_it_could_not_touch():
    media = ExpectedMedia(1, 1, num_frames=3, width=8, height=8, objects={1: "a"})
    media.add_step(Step(10, "prompt", {(1, 0): "A", (1, 2): "E"}))
    media.lose("click", {0})
    landed = [{"obj_id": 1, "frame_idx": 0, "counts": "X"}, {"obj_id": 1, "frame_idx": 2, "counts": "E"}]
    assert media.differences({"steps": 2}, [{"obj_id": 1, "name": "a", "removed": False}], landed) == []
    lost = landed[:1]
    assert media.differences({"steps": 2}, [{"obj_id": 1, "name": "a", "removed": False}], lost)
