"""`masklet benchmark` end to end on a micro checkpoint (fresh worker processes, JSON and
markdown out), and its refusals."""

from __future__ import annotations

import json

import pytest
from conftest import micro_config, seeded_model, visible_objects
from conftest import run_cli as run

import masklet


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "micro.pt"
    masklet.save_model(visible_objects(seeded_model(micro_config(64))), path)
    return path


def test_benchmark_writes_records_and_table(capsys, tmp_path, checkpoint):
    output, markdown = tmp_path / "bench.json", tmp_path / "bench.md"
    code, out, _ = run(capsys, "benchmark", "--models", checkpoint, "--frames", "8", "--objects", "1", "2",
                       "--repeats", "1", "--threads", "1", "--output", output, "--markdown", markdown,
                       "--reference", "--reference-python", "/bin/true")
    assert code == 0
    assert "reference: skipped for" in out  # a custom config has no reference counterpart
    (result,) = json.loads(output.read_text())
    assert result["side"] == "masklet" and result["dtype"] == "float32"
    assert set(result["frame_ms"]) == {"1", "2"} and result["object_frame_ms"] is not None
    assert result["weights_mb"] == pytest.approx(checkpoint.stat().st_size / 2**20, rel=0.2)
    table = markdown.read_text()
    assert table.startswith("| model | dtype | side |") and "fps 2 obj" in table


def test_fast_adds_each_fast_setting_of_the_machine_with_its_masks_compared(capsys, tmp_path, checkpoint):
    """On this machine (AVX512-BF16 / AMX, or AVX2 only) --fast adds int8, bfloat16 where
    native, the fast memory preset, and OpenVINO's sides; each record carries its settings and its masks' IoU with
    float32's."""
    from masklet.eval.sides import BASELINE, Side, fast_sides

    output = tmp_path / "bench.json"
    code, out, _ = run(capsys, "benchmark", "--models", checkpoint, "--fast", "--frames", "8", "--objects", "1",
                       "--repeats", "1", "--threads", "1", "--output", output)
    assert code == 0
    records = json.loads(output.read_text())
    expected = [BASELINE.settings(), *(side.settings() for side in fast_sides("cpu"))]
    assert [r["settings"] for r in records] == expected
    assert {"dtype": "int8", "backend": "torch", "memory": "exact"} in expected
    assert {"dtype": "float32", "backend": "torch", "memory": "fast"} in expected
    for record in records:
        assert record["dtype"] == record["settings"]["dtype"]
        assert record["parameters"] == records[0]["parameters"]
        assert 0.5 <= record["mask_iou_vs_float32"] <= 1.0  # the micro model's masks: see test_fast_dtype.py
    assert records[0]["mask_iou_vs_float32"] == 1.0
    assert "mask IoU vs float32" in out and "| int8 | masklet |" in out and "| masklet fast memory |" in out
    assert ("| bfloat16 | masklet-openvino |" in out) == (Side("bfloat16", "openvino") in fast_sides("cpu"))
    assert ("| int8 | masklet-openvino |" in out) == (Side("int8", "openvino") in fast_sides("cpu"))
    assert ("| float32 | masklet-openvino |" in out) == (Side(backend="openvino") in fast_sides("cpu"))


@pytest.mark.parametrize("argv, message", [
    (["--frames", "7"], "--frames must be above 7"),
    (["--objects", "0"], "at least 1"),
    (["--reference", "--reference-python", "/nonexistent/python"], "pip install sam2"),
    (["--models", "no-such-model", "--frames", "8"], "no-such-model"),
])
def test_benchmark_refuses_bad_requests(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.delenv("MASKLET_REFERENCE_PYTHON", raising=False)
    code, _, err = run(capsys, "benchmark", *argv)
    assert code != 0 and message in err and "Traceback" not in err


def test_benchmark_times_the_onnx_runtime_backend_beside_torch(capsys, tmp_path, checkpoint):
    pytest.importorskip("onnxruntime", reason="the ONNX Runtime backend needs onnxruntime (the dev extra has it)")
    output = tmp_path / "bench.json"
    code, out, _ = run(capsys, "benchmark", "--models", checkpoint, "--onnx", "--frames", "8", "--objects", "1",
                       "--repeats", "1", "--threads", "1", "--output", output)
    assert code == 0
    torch_record, onnx = json.loads(output.read_text())
    assert (onnx["side"], torch_record["side"]) == ("masklet-onnx", "masklet")
    assert onnx["parameters"] == torch_record["parameters"] and onnx["dtype"] == "float32"
    assert onnx["settings"] == {"dtype": "float32", "backend": "onnx", "memory": "exact"}
    assert onnx["encode_ms"] > 0 and onnx["frame_ms"]["1"] > 0 and onnx["weights_mb"] > 0
    assert onnx["mask_iou_vs_float32"] >= 0.98  # the same float32 network on another runtime
    assert "| masklet-onnx |" in out


def test_benchmark_refuses_onnx_off_the_cpu(capsys):
    code, _, err = run(capsys, "benchmark", "--onnx", "--device", "cuda")
    assert code != 0 and "--onnx" in err and "Traceback" not in err
