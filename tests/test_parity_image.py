"""Masklet's image predictor against outputs of Meta's reference (tools/parity/).

Both run the same seeded weights on the same real images and prompts; the fixtures hold the
reference's outputs. Tolerances (fp32, CPU): low-res logits 1e-3, IoU 1e-4, binary masks
differing on at most 0.1% of pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
from cases import FIXTURES, PLANS, case_by_name, load_image, pack, run_plan, unpack_masks
from conftest import require_shared_data, seeded_model

import masklet

LOGIT_TOL = 1e-3
IOU_TOL = 1e-4
MASK_FRACTION_TOL = 1e-3


def compare_outputs(ours: dict, fixture, logit_stride: int) -> None:
    packed = pack(ours, logit_stride)
    keys = sorted(k for k in ours)
    assert set(fixture.files) == set(packed), "the fixture holds other cases than this run"
    for key in keys:
        if key.endswith("/iou"):
            np.testing.assert_allclose(packed[key], fixture[key], atol=IOU_TOL, rtol=0, err_msg=key)
        elif key.endswith("/low_res"):
            np.testing.assert_allclose(packed[key], fixture[key], atol=LOGIT_TOL, rtol=0, err_msg=key)
        else:
            expected = unpack_masks(fixture, key)
            assert ours[key].shape == expected.shape, key
            differing = np.mean(ours[key].astype(bool) != expected)
            assert differing <= MASK_FRACTION_TOL, f"{key}: {differing:.4%} of pixels differ"


@pytest.mark.parametrize("plan", PLANS, ids=[p.name for p in PLANS])
def test_image_predictor_matches_reference(plan):
    require_shared_data()
    fixture_file = FIXTURES / f"{plan.name}.npz"
    assert fixture_file.exists(), f"missing fixture {fixture_file}; run tools/parity/make_image_fixtures.py"
    predictor = masklet.ImagePredictor(seeded_model(plan.name))
    ours = run_plan(plan, predictor)
    compare_outputs(ours, np.load(fixture_file), plan.logit_stride)


def test_fixtures_tell_other_weights_apart():
    """Guard against a vacuous comparison: another seed must fail the same checks."""
    require_shared_data()
    plan = PLANS[0]
    fixture = np.load(FIXTURES / f"{plan.name}.npz")
    predictor = masklet.ImagePredictor(seeded_model(plan.name, seed=1))
    predictor.set_image(load_image("groceries"))
    _, iou, low_res = predictor.predict(**case_by_name("groceries", "point").kwargs())
    assert np.abs(low_res[..., ::2, ::2] - fixture["groceries/point/low_res"]).max() > 100 * LOGIT_TOL
    assert np.abs(iou - fixture["groceries/point/iou"]).max() > 100 * IOU_TOL
