"""ImagePredictor on each backend of export folders (ONNX Runtime, OpenVINO in float32) against
torch on a real photo: clicks, a box with clicks, several prompts at once, and a mask input from
an earlier call, with clicks or alone."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_helpers import EXPORT_BACKENDS, LOGIT_TOLERANCE, nano_export, nano_model

import masklet

IOU_MIN = 0.99


@pytest.fixture(scope="module", params=EXPORT_BACKENDS)
def predictors(request, truck_image):
    """(torch's, the backend's) image predictors on the truck photo."""
    out = []
    for model in (nano_model(), masklet.load_model(nano_export(), backend=request.param)):
        predictor = masklet.ImagePredictor(model)
        predictor.set_image(truck_image)
        out.append(predictor)
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


CASES = {
    "click, multimask": dict(point_coords=np.array([[500, 375]]), point_labels=np.array([1]), multimask_output=True),
    "box + clicks": dict(point_coords=np.array([[500, 375], [1100, 700]]), point_labels=np.array([1, 0]),
                         box=np.array([75, 275, 1725, 850]), multimask_output=False),
    "two boxes at once": dict(box=np.array([[75, 275, 1725, 850], [425, 600, 700, 875]]), multimask_output=False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_image_predictor_matches_torch(predictors, case):
    (masks_t, ious_t, low_t), (masks_o, ious_o, low_o) = (p.predict(**CASES[case]) for p in predictors)
    assert masks_o.shape == masks_t.shape and masks_t.any()
    assert np.abs(low_o - low_t).max() <= LOGIT_TOLERANCE
    assert np.abs(ious_o - ious_t).max() <= LOGIT_TOLERANCE
    for a, b in zip(masks_o.reshape(-1, *masks_o.shape[-2:]), masks_t.reshape(-1, *masks_t.shape[-2:])):
        assert iou(a, b) >= IOU_MIN


def test_mask_input_from_an_earlier_call(predictors):
    first = [p.predict(point_coords=np.array([[500, 375]]), point_labels=np.array([1]), multimask_output=False) for p in predictors]
    again = [
        p.predict(point_coords=np.array([[1100, 700]]), point_labels=np.array([0]), mask_input=low, multimask_output=False)
        for p, (_, _, low) in zip(predictors, first)
    ]
    assert np.abs(again[1][2] - again[0][2]).max() <= LOGIT_TOLERANCE


@pytest.mark.parametrize("multimask_output", [False, True])
def test_mask_input_alone_matches_torch(predictors, multimask_output):
    """A mask prompt without clicks has no point tokens at all (the exported mask_decoder graph)."""
    (_, _, low), _ = (p.predict(point_coords=np.array([[500, 375]]), point_labels=np.array([1]), multimask_output=False)
                      for p in predictors)
    (masks_t, ious_t, low_t), (masks_o, ious_o, low_o) = (
        p.predict(mask_input=low, multimask_output=multimask_output) for p in predictors
    )
    assert masks_o.shape == masks_t.shape and np.abs(low_t).max() > 1  # real logits, not a blank answer
    assert np.abs(low_o - low_t).max() <= LOGIT_TOLERANCE
    assert np.abs(ious_o - ious_t).max() <= LOGIT_TOLERANCE
    for a, b in zip(masks_o.reshape(-1, *masks_o.shape[-2:]), masks_t.reshape(-1, *masks_t.shape[-2:])):
        assert iou(a, b) >= IOU_MIN
