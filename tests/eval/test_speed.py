"""The speed benchmark's arithmetic and plumbing (what it measures, not how fast: timings are
never asserted, only that they are measured, positive and reported)."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest
from conftest import micro_config, seeded_model, visible_objects

from masklet.eval.speed import BenchmarkError, measure_speed, run_worker, speed_table, write_frames
from masklet.eval.timing import SpeedRecord, click_grid, full_memory_frame_ms


def record(side: str, frame_ms: dict[int, float], encode_ms: float = 100.0) -> SpeedRecord:
    return SpeedRecord(side, "sam2.1-hiera-tiny", "float32", "cpu", 38_000_000, encode_ms, 10.0, frame_ms, 900.0, 149.0)


def test_object_frame_fit_is_the_slope_over_object_counts():
    per_object, shared = record("masklet", {1: 150.0, 3: 350.0, 8: 850.0}).object_frame_fit()
    assert per_object == pytest.approx(100.0) and shared == pytest.approx(50.0)
    assert record("masklet", {1: 150.0}).object_frame_fit() is None


def test_record_round_trips_through_json():
    original = record("reference", {1: 150.0, 3: 350.0})
    data = json.loads(json.dumps(original.to_dict()))
    assert data["frames_per_second"]["1"] == pytest.approx(1000 / 150)
    assert data["object_frame_ms"] == pytest.approx(100.0)
    assert SpeedRecord.from_dict(data) == original


def test_click_grid_spreads_distinct_points_inside_the_frame():
    points = click_grid(8, 640, 480)
    assert len({tuple(p) for p in points}) == 8
    assert all(0 <= x < 640 and 0 <= y < 480 for x, y in click_grid(20, 640, 480))


def test_full_memory_frames_are_the_only_ones_timed():
    assert full_memory_frame_ms(iter(range(9)), 7, lambda: None) >= 0
    with pytest.raises(ValueError, match="never fill the memory"):
        full_memory_frame_ms(iter(range(7)), 7, lambda: None)


def test_table_prints_reference_over_masklet_ratios():
    ours = record("masklet", {1: 100.0, 3: 200.0}, encode_ms=50.0)
    theirs = record("reference", {1: 400.0, 3: 1000.0}, encode_ms=200.0)
    table = speed_table([ours, theirs])
    assert table.count("| sam2.1-hiera-tiny |") == 2
    assert "encode 4.00x" in table and "frame (1 obj) 4.00x" in table and "object-frame 6.00x" in table


def test_measure_speed_times_every_part(tmp_path):
    frames = write_frames(None, 8, tmp_path / "frames")
    model = visible_objects(seeded_model(micro_config(64)))
    result = measure_speed(model, "micro", frames, frames[0], objects=[1, 2], repeats=1)
    assert result.side == "masklet" and result.dtype == "float32" and result.device == "cpu"
    assert result.parameters == sum(p.numel() for p in model.parameters())
    assert result.encode_ms > 0 and result.decode_ms > 0 and result.peak_mib > 0
    assert set(result.frame_ms) == {1, 2} and min(result.frame_ms.values()) > 0


def test_a_failing_worker_is_reported_by_its_last_line(tmp_path):
    failing = [sys.executable, "-c", "import sys; sys.exit('ModuleNotFoundError: No module named sam2')"]
    with pytest.raises(BenchmarkError, match="tiny float32 .* No module named sam2"):
        run_worker(failing, {"model": "tiny", "dtype": "float32"}, tmp_path)


def test_frames_must_exist_in_the_video(tmp_path):
    with pytest.raises(BenchmarkError, match="cannot read frames"):
        write_frames(str(tmp_path / "missing.mp4"), 8, tmp_path / "frames")


def test_fast_sides_follow_the_machine():
    from masklet.checkpoint.compute import CpuFeatures
    from masklet.eval.sides import Side, benchmark_sides, fast_sides

    amx = CpuFeatures("AVX512", frozenset({"amx_bf16"}), True, ("x86",))
    avx2 = CpuFeatures("AVX2", frozenset({"avx2"}), False, ("x86",))
    bare = CpuFeatures("DEFAULT", frozenset(), False, ())
    fast_memory = Side(memory="fast")
    has_openvino = importlib.util.find_spec("openvino") is not None
    openvino_int8 = [Side("int8", "openvino")] if has_openvino and importlib.util.find_spec("nncf") else []
    openvino = [Side("bfloat16", "openvino")] * has_openvino + openvino_int8
    both = Side("bfloat16", memory="fast")
    assert fast_sides("cpu", amx) == [Side("bfloat16"), Side("int8"), fast_memory, both, *openvino]
    openvino_float32 = [Side(backend="openvino")] * has_openvino
    assert fast_sides("cpu", avx2) == [Side("int8"), fast_memory, Side("int8", memory="fast"), *openvino_float32,
                                       *openvino_int8]
    assert fast_sides("cpu", bare) == [fast_memory, *openvino_float32]
    assert benchmark_sides(("bfloat16",), True, "cpu", amx) == [
        Side(), Side("bfloat16"), Side("int8"), fast_memory, both, *openvino]
    assert benchmark_sides(("bfloat16", "float32"), False, "cpu", amx) == [Side(), Side("bfloat16")]
    assert Side(backend="onnx").name == "masklet-onnx" and Side("int8").checkpoint_dtype == "float32"
    assert fast_memory.name == "masklet fast memory" and fast_memory.settings()["memory"] == "fast"
    assert Side("bfloat16", "openvino").checkpoint_dtype == "float32"  # exported from the float32 model


def test_worst_mask_iou_is_the_lowest_over_image_and_frames(tmp_path):
    from masklet.eval.speed import save_masks, worst_mask_iou

    image = np.zeros((3, 4, 4), bool)
    image[:, :2] = True  # 8 pixels per candidate
    video = np.zeros((2, 1, 4, 4), bool)  # frames x objects: empty masks agree
    save_masks(tmp_path / "base.npz", image, video)
    changed = image.copy()
    changed[1, 2, 0] = True  # 8 of 9 pixels shared
    save_masks(tmp_path / "ours.npz", changed, video)
    assert worst_mask_iou(tmp_path / "ours.npz", tmp_path / "base.npz") == pytest.approx(8 / 9)
    assert worst_mask_iou(tmp_path / "base.npz", tmp_path / "base.npz") == 1.0
    save_masks(tmp_path / "other.npz", image[:, :2], video)
    with pytest.raises(BenchmarkError, match="cannot be compared"):
        worst_mask_iou(tmp_path / "other.npz", tmp_path / "base.npz")


def test_records_carry_settings_and_mask_iou_through_json():
    original = record("masklet", {1: 150.0})
    original.settings, original.mask_iou_vs_float32 = {"dtype": "int8", "backend": "torch"}, 0.99
    assert SpeedRecord.from_dict(json.loads(json.dumps(original.to_dict()))) == original
    assert "| 0.9900 |" in speed_table([original])
