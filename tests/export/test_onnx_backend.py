"""The ONNX Runtime backend: the video predictor, the stream tracker and the image predictor on
the exported masklet-nano against the torch model on a real DAVIS clip, with two objects (a
mask and a click) and a correction click; all three run on the ONNX backend in a process where
torch cannot be imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import davis_frame
from onnx_clip import CORRECTION_FRAME, as_array, run_clip, run_image, run_stream
from onnx_helpers import nano_export, nano_model

import masklet

FRAMES = 6
IOU_MIN = 0.99
# Run a script with torch made unimportable (sys.modules["torch"] = None makes `import torch`
# and every torch.* import raise ImportError).
WITHOUT_TORCH = "import runpy, sys; sys.modules['torch'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def masks_iou(a, b) -> list[float]:
    """Per-object IoU of logits [N, H, W] > 0 (1.0 where both are empty)."""
    a, b = as_array(a).reshape(len(a), -1) > 0, as_array(b).reshape(len(b), -1) > 0
    inter, union = (a & b).sum(1), (a | b).sum(1)
    return [1.0 if int(u) == 0 else float(i) / float(u) for i, u in zip(inter, union)]


def head_click(mask) -> list[list[int]]:
    """A click on the swan's head: the topmost pixel of its true mask, 4 pixels down."""
    ys, xs = mask.nonzero()
    top = ys.argmin()
    return [[int(xs[top]), int(ys[top]) + 4]]


def clip_inputs() -> dict[str, np.ndarray]:
    """Six DAVIS blackswan frames, the swan's mask on frame 0, a click on its head on frame 3."""
    frames = np.stack([davis_frame("blackswan", i)[0] for i in range(FRAMES)])
    head = head_click(davis_frame("blackswan", CORRECTION_FRAME)[1])
    return {"frames": frames, "swan_mask": davis_frame("blackswan", 0)[1], "head_click": np.array(head)}


def test_predictors_run_without_torch_and_match_torch(tmp_path):
    inputs = clip_inputs()
    expected = {**run_clip(nano_model(), inputs), **run_stream(nano_model(), inputs), **run_image(nano_model(), inputs)}
    np.savez(tmp_path / "inputs.npz", **inputs)
    script = Path(__file__).with_name("onnx_clip.py")
    subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, str(script), str(nano_export()), str(tmp_path / "inputs.npz"), str(tmp_path / "out.npz")],
        check=True, timeout=600,
    )
    with np.load(tmp_path / "out.npz") as stored:
        got = {k: stored[k] for k in stored.files}
    assert not got.pop("torch_loaded"), "the ONNX backend's predictors imported torch"
    assert got.keys() == expected.keys()
    correction = f"1-{CORRECTION_FRAME}"
    assert (expected[correction][0] > 0).sum() != (expected[f"0-{CORRECTION_FRAME}"][0] > 0).sum()
    for key in expected:
        assert (expected[key] > 0).reshape(len(expected[key]), -1).any(1).all(), f"an object vanished on {key}"
        ious = masks_iou(got[key], expected[key])
        assert min(ious) >= IOU_MIN, f"pass-frame {key}: IoU per object {ious}"


def test_onnx_results_are_numpy_and_torch_results_tensors():
    frames = [davis_frame("blackswan", i)[0] for i in range(2)]
    for model, kind in ((nano_model(), torch.Tensor), (masklet.load_model(nano_export(), backend="onnx"), np.ndarray)):
        predictor = masklet.VideoPredictor(model, show_progress=False)
        state = predictor.init_state(frames)
        _, _, logits = predictor.add_new_points_or_box(state, 0, 1, points=[[120, 400]], labels=[1])
        assert isinstance(logits, kind) and logits.dtype in (torch.float32, np.float32)
        result = next(predictor.propagate(state))
        assert isinstance(result.logits, kind) and result.masks.dtype == bool and result.rle()[0]["size"] == [480, 854]


def test_load_errors(tmp_path):
    with pytest.raises(masklet.checkpoint.CheckpointError, match="masklet export --format onnx"):
        masklet.load_model(tmp_path, backend="onnx")
    with pytest.raises(ValueError, match="backend must be"):
        masklet.load_model("masklet-nano", backend="tensorrt")
    with pytest.raises(ValueError, match="cpu in float32"):
        masklet.load_model(nano_export(), backend="onnx", dtype=torch.bfloat16)
    with pytest.raises(TypeError, match="backend='torch'"):
        masklet.MaskGenerator(masklet.load_model(nano_export(), backend="onnx"))


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_correction_on_a_one_frame_video_is_finite_on_both_backends(backend):
    """A one-frame video's pointer window is 1: the shared rule divides its only pointer's
    distance by 1, not by window - 1 = 0 (the ONNX backend once had its own copy of the rule
    and produced NaN here)."""
    model = nano_model() if backend == "torch" else masklet.load_model(nano_export(), backend="onnx")
    frame, mask = davis_frame("blackswan", 0)
    predictor = masklet.VideoPredictor(model, add_all_frames_to_correct_as_cond=True)
    state = predictor.init_state(frame[None])
    predictor.add_new_points_or_box(state, 0, 1, points=head_click(mask), labels=[1])
    list(predictor.propagate(state))
    _, _, logits = predictor.add_new_points_or_box(state, 0, 1, points=[[5, 5]], labels=[0], clear_old_points=False)
    assert np.isfinite(as_array(logits)).all() and (as_array(logits) > 0).any()
    (result,) = list(predictor.propagate(state))
    assert np.isfinite(as_array(result.object_score_logits)).all() and (as_array(result.logits) > 0).any()
