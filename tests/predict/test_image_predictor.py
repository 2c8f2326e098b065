"""ImagePredictor behaviour and input validation (small random model, fast)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import masklet
from masklet.model.arrays import TorchArrays
from masklet.predict.postprocess import fill_holes_and_remove_sprinkles

CPU = TorchArrays("cpu", torch.float32)

SMALL = masklet.SAM2Config(
    name="test-small-256",
    image_size=256,
    trunk=masklet.HieraConfig(
        embed_dim=32, num_heads=1, stages=(1, 1, 2, 1), global_att_blocks=(2,), window_spec=(4, 4, 4, 4)
    ),
)


@pytest.fixture(scope="module")
def predictor():
    torch.manual_seed(0)
    p = masklet.ImagePredictor(masklet.build_model(SMALL))
    p.set_image(np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8))
    return p


def test_output_shapes_single_and_multi(predictor):
    masks, iou, low = predictor.predict(np.array([[50, 60]]), np.array([1]))
    assert masks.shape == (3, 120, 200) and masks.dtype == bool
    assert iou.shape == (3,) and low.shape == (3, 64, 64)
    masks, iou, low = predictor.predict(np.array([[50, 60]]), np.array([1]), multimask_output=False, return_logits=True)
    assert masks.shape == (1, 120, 200) and masks.dtype == np.float32
    assert np.abs(low).max() <= 32.0


def test_batched_boxes_equal_one_by_one(predictor):
    boxes = np.array([[10, 10, 100, 80], [120, 30, 190, 110]])
    masks, iou, low = predictor.predict(box=boxes, multimask_output=False, return_logits=True)
    assert masks.shape == (2, 1, 120, 200)
    for i, box in enumerate(boxes):
        m, s, lo = predictor.predict(box=box, multimask_output=False, return_logits=True)
        np.testing.assert_allclose(lo, low[i], atol=1e-4)
        np.testing.assert_allclose(s, iou[i], atol=1e-5)


def test_normalized_coordinates_equal_pixels(predictor):
    a = predictor.predict(np.array([[50, 60]]), np.array([1]), return_logits=True)[2]
    b = predictor.predict(np.array([[50 / 200, 60 / 120]]), np.array([1]), normalize_coords=False, return_logits=True)[2]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_mask_input_round_trip(predictor):
    _, iou, low = predictor.predict(np.array([[50, 60]]), np.array([1]))
    best = low[np.argmax(iou)][None]
    masks, _, _ = predictor.predict(np.array([[60, 60]]), np.array([1]), mask_input=best, multimask_output=False)
    assert masks.shape == (1, 120, 200)


def test_pil_and_grey_images_accepted():
    p = masklet.ImagePredictor(masklet.build_model(SMALL))
    p.set_image(Image.new("L", (64, 48), 128))
    assert p.predict(np.array([[10, 10]]), np.array([1]))[0].shape == (3, 48, 64)
    assert p.get_image_embedding().shape == (1, 256, 16, 16)


def test_image_batch():
    p = masklet.ImagePredictor(masklet.build_model(SMALL))
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (40, 60, 3), dtype=np.uint8), rng.integers(0, 255, (70, 50, 3), dtype=np.uint8)]
    p.set_image_batch(images)
    masks, ious, lows = p.predict_batch([np.array([[5, 5]]), None], [np.array([1]), None], box_batch=[None, np.array([1, 1, 30, 30])])
    assert masks[0].shape == (3, 40, 60) and masks[1].shape == (3, 70, 50)
    with pytest.raises(RuntimeError, match="predict_batch"):
        p.predict(np.array([[5, 5]]), np.array([1]))
    # each image of the batch gives what it gives alone
    p.set_image(images[1])
    alone = p.predict(box=np.array([1, 1, 30, 30]), return_logits=True)[2]
    np.testing.assert_allclose(alone, lows[1], atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(point_coords=np.array([[10, 10]])), "together"),
        (dict(point_coords=np.array([10, 10, 3]), point_labels=np.array([1])), r"\[N, 2\]"),
        (dict(point_coords=np.array([[10, 10]]), point_labels=np.array([1, 1])), "point_labels must have shape"),
        (dict(point_coords=np.array([[10, 10]]), point_labels=np.array([7])), "1 \\(foreground\\) or 0"),
        (dict(point_coords=np.array([[250, 10]]), point_labels=np.array([1])), "outside the 200x120 image"),
        (dict(point_coords=np.array([[-1, 10]]), point_labels=np.array([1])), "outside"),
        (dict(point_coords=np.array([[np.nan, 10]]), point_labels=np.array([1])), "NaN"),
        (dict(point_coords=np.array([[0.5, 2.0]]), point_labels=np.array([1]), normalize_coords=False), r"\[0, 1\]"),
        (dict(box=np.array([10, 10, 5, 50])), "x1 <= x2"),
        (dict(box=np.array([10, 10, 50])), r"\[4\] or \[B, 4\]"),
        (dict(box=np.array([10, 10, 500, 50])), "outside"),
        (dict(box=np.array([[1, 1, 9, 9], [2, 2, 8, 8]]), point_coords=np.array([[5, 5]]), point_labels=np.array([1])), "one set per box"),
        (dict(mask_input=np.zeros((1, 32, 32))), "mask_input must be low-res logits"),
    ],
)
def test_bad_prompts_give_clear_errors(predictor, kwargs, message):
    with pytest.raises(ValueError, match=message):
        predictor.predict(**kwargs)


def test_predict_before_set_image():
    p = masklet.ImagePredictor(masklet.build_model(SMALL))
    with pytest.raises(RuntimeError, match="set_image"):
        p.predict(np.array([[1, 1]]), np.array([1]))
    with pytest.raises(RuntimeError, match="set_image"):
        p.get_image_embedding()


@pytest.mark.parametrize(
    "image, error",
    [
        (np.zeros((10, 10, 5), np.uint8), ValueError),
        (np.zeros((0, 10, 3), np.uint8), ValueError),
        (np.full((10, 10, 3), 2.0, np.float32), ValueError),
        (torch.zeros(3, 10, 10), TypeError),
        ("image.jpg", TypeError),
    ],
)
def test_bad_images(image, error):
    p = masklet.ImagePredictor(masklet.build_model(SMALL))
    with pytest.raises(error):
        p.set_image(image)


def test_hole_and_sprinkle_removal():
    logits = -np.ones((1, 1, 12, 12), np.float32) * 5
    logits[0, 0, 2:10, 2:10] = 5
    logits[0, 0, 5, 5] = -5  # a 1-pixel hole
    logits[0, 0, 0, 11] = 5  # a 1-pixel speck
    out = fill_holes_and_remove_sprinkles(torch.from_numpy(logits), 0.0, 2, 2, CPU).numpy()
    assert out[0, 0, 5, 5] > 0 and out[0, 0, 0, 11] < 0
    assert (out[0, 0, 2:10, 2:10] > 0).all()
    same = fill_holes_and_remove_sprinkles(torch.from_numpy(logits), 0.0, 0, 0, CPU).numpy()
    np.testing.assert_array_equal(same, logits)


def test_predictor_holes_option_changes_output():
    torch.manual_seed(0)
    model = masklet.build_model(SMALL)
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    plain, cleaned = masklet.ImagePredictor(model), masklet.ImagePredictor(model, max_hole_area=64, max_sprinkle_area=64)
    outs = []
    for p in (plain, cleaned):
        p.set_image(image)
        outs.append(p.predict(np.array([[30, 30]]), np.array([1]), return_logits=True)[2])
    ref = fill_holes_and_remove_sprinkles(torch.from_numpy(outs[0]), 0.0, 64, 64, CPU).numpy()
    np.testing.assert_allclose(outs[1], ref.clip(-32, 32), atol=1e-5)


def test_rejects_non_masklet_model():
    with pytest.raises(TypeError, match="load_model"):
        masklet.ImagePredictor(torch.nn.Linear(2, 2))


def test_bfloat16_model_close_to_float32():
    torch.manual_seed(0)
    fp32 = masklet.build_model(SMALL)
    bf16 = masklet.build_model(SMALL)
    bf16.load_state_dict(fp32.state_dict())
    bf16 = bf16.to(torch.bfloat16)
    image = np.random.default_rng(0).integers(0, 255, (50, 60, 3), dtype=np.uint8)
    outs = []
    for model in (fp32, bf16):
        p = masklet.ImagePredictor(model)
        p.set_image(image)
        outs.append(p.predict(np.array([[5, 5]]), np.array([1]), box=np.array([1, 1, 30, 30]), return_logits=True))
    assert all(o.dtype == np.float32 for o in outs[1])
    assert np.abs(outs[0][2] - outs[1][2]).max() < 0.05
