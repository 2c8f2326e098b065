"""Masklet results as supervision.Detections, checked with the real supervision package:
tracked frames of a DAVIS clip, the automatic generator's records in every output mode (ours
and supervision's own `Detections.from_sam`), its annotators, and the example script."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, davis_frame
from PIL import Image

import masklet
from masklet.integrations.supervision import detections_from_frame, detections_from_records
from masklet.predict.results import FrameResult

sv = pytest.importorskip("supervision", reason="the supervision glue is tested with supervision (pip install 'masklet[supervision]')")


def davis(index: int) -> tuple[np.ndarray, np.ndarray]:
    return davis_frame("blackswan", index)


def mask_box(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())]


@pytest.fixture(scope="module")
def tracked() -> list[FrameResult]:
    frames = np.stack([davis(i)[0] for i in range(4)])
    predictor = masklet.VideoPredictor(masklet.load_model("masklet-nano"), show_progress=False)
    state = predictor.init_state(frames)
    predictor.add_new_mask(state, 0, 7, davis(0)[1])
    predictor.add_new_points_or_box(state, 0, 3, box=[10, 10, 60, 60])  # a patch of water
    return list(predictor.propagate(state))


def test_tracked_frames_become_detections(tracked):
    for result in tracked:
        detections = detections_from_frame(result, visible_only=False)
        assert isinstance(detections, sv.Detections) and len(detections) == 2
        np.testing.assert_array_equal(detections.mask, result.masks)
        assert detections.tracker_id.tolist() == [7, 3] and detections.data["obj_id"].tolist() == [7, 3]
        scores = np.asarray(result.object_score_logits, dtype=np.float64)
        np.testing.assert_allclose(detections.confidence, 1 / (1 + np.exp(-scores)), rtol=1e-6)
        for box, mask in zip(detections.xyxy, result.masks):
            if mask.any():
                assert box.tolist() == mask_box(mask)
    swan = detections_from_frame(tracked[-1])
    assert 7 in swan.tracker_id.tolist()
    truth = davis(3)[1]
    row = swan.tracker_id.tolist().index(7)
    iou = (swan.mask[row] & truth).sum() / (swan.mask[row] | truth).sum()
    assert iou > 0.7  # the swan is still the swan after three frames (masklet-nano: 0.77)


def test_absent_and_empty_objects_are_left_out():
    logits = np.full((3, 8, 10), -5.0, np.float32)
    logits[0, 2:5, 3:7] = 4.0  # object "a": visible with a mask
    logits[2, 1:3, 1:3] = 4.0  # object "c": a mask, but its object score says absent
    result = FrameResult(0, ["a", "b", "c"], logits, np.array([2.0, 1.0, -3.0], np.float32))
    detections = detections_from_frame(result)
    assert len(detections) == 1 and detections.data["obj_id"].tolist() == ["a"]
    assert detections.tracker_id.tolist() == [0]  # ids that are not ints: their positions
    assert detections.xyxy.tolist() == [[3.0, 2.0, 6.0, 4.0]]
    assert len(detections_from_frame(FrameResult(0, [1], np.full((1, 4, 4), -5.0, np.float32), np.array([1.0])))) == 0


@pytest.mark.parametrize("output_mode", ["binary_mask", "uncompressed_rle", "coco_rle"])
def test_generator_records_become_detections(output_mode):
    image = davis(0)[0][::2, ::2].copy()
    generator = masklet.MaskGenerator(masklet.load_model("masklet-nano"), points_per_side=4, pred_iou_thresh=0.0,
                                      stability_score_thresh=0.0, output_mode=output_mode)  # nano scores low
    records = generator.generate(image)
    assert records, "the generator found no mask to convert"
    ours = detections_from_records(records)
    dense = [r["segmentation"] if output_mode == "binary_mask" else masklet.io.rle_decode(r["segmentation"]) for r in records]
    np.testing.assert_array_equal(ours.mask, np.stack(dense))
    np.testing.assert_allclose(ours.confidence, [r["predicted_iou"] for r in records], rtol=1e-6)
    np.testing.assert_allclose(ours.xyxy[:, 2:] - ours.xyxy[:, :2], [r["bbox"][2:] for r in records])
    assert ours.data["stability_score"].shape == (len(records),)
    theirs = sv.Detections.from_sam(records)  # supervision's own reader, ordered by area
    order = sorted(range(len(records)), key=lambda i: records[i]["area"], reverse=True)
    np.testing.assert_array_equal(theirs.mask, ours.mask[order])
    np.testing.assert_allclose(theirs.xyxy, ours.xyxy[order])
    assert len(detections_from_records([])) == 0


def test_annotators_draw_inside_the_masks(tracked):
    frame = davis(3)[0]
    detections = detections_from_frame(tracked[-1])
    annotated = sv.MaskAnnotator(opacity=0.5, color_lookup=sv.ColorLookup.TRACK).annotate(frame.copy(), detections)
    changed = (annotated != frame).any(axis=-1)
    inside = detections.mask.any(axis=0)
    assert changed[inside].mean() > 0.9 and not changed[~inside].any()


def test_missing_supervision_is_a_clear_error(monkeypatch, tracked):
    monkeypatch.setitem(sys.modules, "supervision", None)
    with pytest.raises(ImportError, match=r"pip install 'masklet\[supervision\]'"):
        detections_from_frame(tracked[0])


def test_example_annotates_a_clip(tmp_path):
    sys.path.insert(0, str(REPO / "examples"))
    try:
        from supervision_video import main
    finally:
        sys.path.pop(0)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        Image.fromarray(davis(i)[0]).save(frames / f"{i:05d}.jpg")
    box = ",".join(f"{v:g}" for v in mask_box(davis(0)[1]))
    assert main([str(frames), "--box", box, "--output", str(tmp_path / "out"), "--frames", "3"]) == 0
    written = sorted(Path(tmp_path / "out").glob("*.png"))
    assert [p.name for p in written] == ["00000.png", "00001.png", "00002.png"]
    first = np.asarray(Image.open(written[0]))
    assert first.shape == davis(0)[0].shape and not np.array_equal(first, davis(0)[0])
