"""The backends of export folders (ONNX Runtime, OpenVINO): the video predictor, the stream
tracker and the image predictor on the exported masklet-nano against the torch model on a real
DAVIS clip, with two objects (a mask and a click) and a correction click; all three run on each
backend in a process where torch cannot be imported."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import davis_frame
from onnx_clip import CORRECTION_FRAME, as_array, run_clip, run_image, run_stream
from onnx_helpers import EXPORT_BACKENDS, nano_export, nano_model

import masklet
from masklet.errors import OptionError

FRAMES = 6
IOU_MIN = 0.99
# OpenVINO in bfloat16 against torch in float32, per object and frame (measured: >= 0.995).
BFLOAT16_IOU_MIN = 0.98
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


@functools.lru_cache(maxsize=None)
def torch_outputs() -> dict[str, np.ndarray]:
    """What the torch model gives on `clip_inputs` (the clip, the stream, the image prompts)."""
    inputs = clip_inputs()
    return {**run_clip(nano_model(), inputs), **run_stream(nano_model(), inputs), **run_image(nano_model(), inputs)}


def clip_inputs() -> dict[str, np.ndarray]:
    """Six DAVIS blackswan frames, the swan's mask on frame 0, a click on its head on frame 3."""
    frames = np.stack([davis_frame("blackswan", i)[0] for i in range(FRAMES)])
    head = head_click(davis_frame("blackswan", CORRECTION_FRAME)[1])
    return {"frames": frames, "swan_mask": davis_frame("blackswan", 0)[1], "head_click": np.array(head)}


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
def test_predictors_run_without_torch_and_match_torch(tmp_path, backend):
    inputs, expected = clip_inputs(), torch_outputs()
    np.savez(tmp_path / "inputs.npz", **inputs)
    script = Path(__file__).with_name("onnx_clip.py")
    subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, str(script), str(nano_export()), backend, str(tmp_path / "inputs.npz"),
         str(tmp_path / "out.npz")],
        check=True, timeout=600,
    )
    with np.load(tmp_path / "out.npz") as stored:
        got = {k: stored[k] for k in stored.files}
    assert not got.pop("torch_loaded"), f"the {backend} backend's predictors imported torch"
    assert got.keys() == expected.keys()
    correction = f"1-{CORRECTION_FRAME}"
    assert (expected[correction][0] > 0).sum() != (expected[f"0-{CORRECTION_FRAME}"][0] > 0).sum()
    for key in expected:
        assert (expected[key] > 0).reshape(len(expected[key]), -1).any(1).all(), f"an object vanished on {key}"
        ious = masks_iou(got[key], expected[key])
        assert min(ious) >= IOU_MIN, f"pass-frame {key}: IoU per object {ious}"


def test_openvino_bfloat16_keeps_the_masks():
    """The clip, the stream and the image prompts on OpenVINO in bfloat16 (where the CPU has it)
    against torch in float32."""
    pytest.importorskip("openvino", reason="the OpenVINO tests need openvino (pip install 'masklet[openvino]')")
    from masklet.openvino.graphs import cpu_has_native_bfloat16, openvino_core

    if not cpu_has_native_bfloat16(openvino_core()):
        pytest.skip("this CPU has no native bfloat16 (AVX512-BF16 or AMX)")
    model, inputs, expected = masklet.load_model(nano_export(), backend="openvino", dtype="bfloat16"), clip_inputs(), torch_outputs()
    got = {**run_clip(model, inputs), **run_stream(model, inputs), **run_image(model, inputs)}
    assert got.keys() == expected.keys()
    for key in expected:
        ious = masks_iou(got[key], expected[key])
        assert min(ious) >= BFLOAT16_IOU_MIN, f"pass-frame {key}: IoU per object {ious}"
    assert any(np.abs(got[k] - expected[k]).max() > 1e-2 for k in expected)  # bfloat16 arithmetic really ran


def test_openvino_refuses_bfloat16_where_the_cpu_emulates_it(monkeypatch):
    pytest.importorskip("openvino", reason="the OpenVINO tests need openvino (pip install 'masklet[openvino]')")
    import masklet.openvino.model

    monkeypatch.setattr(masklet.openvino.model, "cpu_has_native_bfloat16", lambda core: False)
    with pytest.raises(OptionError, match="needs a CPU with native bfloat16"):
        masklet.load_model(nano_export(), backend="openvino", dtype=torch.bfloat16)


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
def test_exported_results_are_numpy_and_torch_results_tensors(backend):
    frames = [davis_frame("blackswan", i)[0] for i in range(2)]
    for model, kind in ((nano_model(), torch.Tensor), (masklet.load_model(nano_export(), backend=backend), np.ndarray)):
        predictor = masklet.VideoPredictor(model, show_progress=False)
        state = predictor.init_state(frames)
        _, _, logits = predictor.add_new_points_or_box(state, 0, 1, points=[[120, 400]], labels=[1])
        assert isinstance(logits, kind) and logits.dtype in (torch.float32, np.float32)
        result = next(predictor.propagate(state))
        assert isinstance(result.logits, kind) and result.masks.dtype == bool and result.rle()[0]["size"] == [480, 854]


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
def test_load_errors(tmp_path, backend):
    with pytest.raises(masklet.checkpoint.CheckpointError, match="masklet export --format onnx"):
        masklet.load_model(tmp_path, backend=backend)
    with pytest.raises(ValueError, match="backend must be one of torch, onnx, openvino"):
        masklet.load_model("masklet-nano", backend="tensorrt")
    with pytest.raises(OptionError, match="runs on the cpu"):
        masklet.load_model(nano_export(), backend=backend, device="cuda")
    with pytest.raises(OptionError, match="pass no config"):
        masklet.load_model(nano_export(), backend=backend, config="masklet-nano")
    with pytest.raises(OptionError, match="cpu in float32"):
        masklet.load_model(nano_export(), backend=backend, dtype=torch.float16)
    with pytest.raises(TypeError, match="backend='torch'"):
        masklet.MaskGenerator(masklet.load_model(nano_export(), backend=backend))


def test_onnx_backend_refuses_bfloat16():
    with pytest.raises(OptionError, match="cpu in float32, not cpu / torch.bfloat16"):
        masklet.load_model(nano_export(), backend="onnx", dtype=torch.bfloat16)


@pytest.mark.parametrize("backend", ["torch", *EXPORT_BACKENDS])
def test_correction_on_a_one_frame_video_is_finite_on_every_backend(backend):
    """A one-frame video's pointer window is 1: the shared rule divides its only pointer's
    distance by 1, not by window - 1 = 0 (the ONNX backend once had its own copy of the rule
    and produced NaN here)."""
    model = nano_model() if backend == "torch" else masklet.load_model(nano_export(), backend=backend)
    frame, mask = davis_frame("blackswan", 0)
    predictor = masklet.VideoPredictor(model, add_all_frames_to_correct_as_cond=True)
    state = predictor.init_state(frame[None])
    predictor.add_new_points_or_box(state, 0, 1, points=head_click(mask), labels=[1])
    list(predictor.propagate(state))
    _, _, logits = predictor.add_new_points_or_box(state, 0, 1, points=[[5, 5]], labels=[0], clear_old_points=False)
    assert np.isfinite(as_array(logits)).all() and (as_array(logits) > 0).any()
    (result,) = list(predictor.propagate(state))
    assert np.isfinite(as_array(result.object_score_logits)).all() and (as_array(result.logits) > 0).any()
