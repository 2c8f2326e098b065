"""The ONNX Runtime backend: the video predictor and the stream tracker on the exported
masklet-nano against the torch model on a real DAVIS clip, with two objects (a mask and a
click) and a correction click."""

from __future__ import annotations

import pytest
import torch

import masklet
from onnx_helpers import davis_frame, nano_export, nano_model

FRAMES = 6
CORRECTION_FRAME = 3
IOU_MIN = 0.99


def masks_iou(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    """Per-object IoU of logits [N, H, W] > 0 (1.0 where both are empty)."""
    a, b = a > 0, b > 0
    inter, union = (a & b).flatten(1).sum(1), (a | b).flatten(1).sum(1)
    return [1.0 if int(u) == 0 else float(i) / float(u) for i, u in zip(inter, union)]


def head_click(mask) -> list[list[int]]:
    """A click on the swan's head: the topmost pixel of its true mask, 4 pixels down."""
    ys, xs = mask.nonzero()
    top = ys.argmin()
    return [[int(xs[top]), int(ys[top]) + 4]]


def run_clip(model) -> dict[tuple[int, int], torch.Tensor]:
    """{(pass, frame): logits [2, H, W]}: pass 0 propagates the two prompted objects; pass 1
    is object 1's negative correction click on its head on a tracked frame, then the
    propagation after that frame (which attends to the corrected memory)."""
    frames = [davis_frame("blackswan", i)[0] for i in range(FRAMES)]
    predictor = masklet.VideoPredictor(model, show_progress=False)
    state = predictor.init_state(frames)
    predictor.add_new_mask(state, frame_idx=0, obj_id=1, mask=davis_frame("blackswan", 0)[1])
    predictor.add_new_points_or_box(state, frame_idx=0, obj_id=2, points=[[120, 400]], labels=[1])  # the shore
    out = {(0, f): logits[:, 0].clone() for f, _, logits in predictor.propagate_in_video(state)}
    _, _, logits = predictor.add_new_points_or_box(  # the head is not the object
        state, frame_idx=CORRECTION_FRAME, obj_id=1, points=head_click(davis_frame("blackswan", CORRECTION_FRAME)[1]),
        labels=[0], clear_old_points=False,
    )
    out[(1, CORRECTION_FRAME)] = logits[:, 0].clone()
    for f, _, logits in predictor.propagate_in_video(state, start_frame_idx=CORRECTION_FRAME + 1):
        out[(1, f)] = logits[:, 0].clone()
    return out


def test_video_predictor_matches_torch():
    expected = run_clip(nano_model())
    got = run_clip(masklet.load_model(nano_export(), backend="onnx"))
    assert got.keys() == expected.keys()
    assert (expected[(1, CORRECTION_FRAME)][0] > 0).sum() != (expected[(0, CORRECTION_FRAME)][0] > 0).sum()
    for key in expected:
        assert (expected[key] > 0).flatten(1).any(1).all(), f"an object vanished on {key}: not a useful comparison"
        ious = masks_iou(got[key], expected[key])
        assert min(ious) >= IOU_MIN, f"pass, frame {key}: IoU per object {ious}"


def test_stream_tracker_matches_torch():
    frames = [davis_frame("blackswan", i)[0] for i in range(3)]
    results = []
    for model in (nano_model(), masklet.load_model(nano_export(), backend="onnx")):
        tracker = masklet.StreamTracker(model)
        tracker.track(frames[0])
        tracker.add_new_mask(obj_id=1, mask=davis_frame("blackswan", 0)[1])
        results.append([tracker.track(f).logits.clone() for f in frames[1:]])
    for torch_logits, onnx_logits in zip(*results):
        assert min(masks_iou(onnx_logits, torch_logits)) >= IOU_MIN


def test_load_errors(tmp_path):
    with pytest.raises(masklet.checkpoint.CheckpointError, match="masklet export --format onnx"):
        masklet.load_model(tmp_path, backend="onnx")
    with pytest.raises(ValueError, match="backend must be"):
        masklet.load_model("masklet-nano", backend="tensorrt")
    with pytest.raises(ValueError, match="cpu in float32"):
        masklet.load_model(nano_export(), backend="onnx", dtype=torch.bfloat16)
    with pytest.raises(TypeError, match="backend='torch'"):
        masklet.MaskGenerator(masklet.load_model(nano_export(), backend="onnx"))
