"""MaskGenerator: parity with the reference SAM2AutomaticMaskGenerator, batching, output modes,
small-region clean-up, box NMS and argument checks."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest
import torch
from conftest import REPO, require_shared_data, seeded_model

import masklet
from masklet.backend.heads import stability_score
from masklet.io.rle import rle_decode, rle_encode
from masklet.predict.automatic import MODEL_THRESHOLDS, MaskGenerator, MaskThresholds, _CropEmbedding
from masklet.predict.automatic_ops import (
    batched_nms,
    boxes_near_crop_edge,
    crop_boxes,
    masks_to_boxes,
    masks_to_uncompressed_rle,
    nms,
    point_grid,
    remove_small_regions,
)

FIXTURES = REPO / "tests" / "fixtures" / "parity" / "automask"
CASES = sorted(p.stem for p in FIXTURES.glob("*.npz") if p.stem != "nms")


@pytest.fixture(scope="module")
def small_model():
    """sam2.1-hiera-tiny at a 256-pixel input: fast, for tests where parity is not the point."""
    config = dataclasses.replace(masklet.get_config("sam2.1-hiera-tiny"), image_size=256)
    return seeded_model(config).eval()


def _random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


# ---------------------------------------------------------------------- parity with the reference


def _load_case(name: str):
    from PIL import Image

    data = np.load(FIXTURES / f"{name}.npz")
    y0, y1, x0, x1 = data["window"].tolist()
    image_path = require_shared_data() / "images" / str(data["image"])
    image = np.asarray(Image.open(image_path).convert("RGB"))[y0:y1, x0:x1]
    count, height, width = data["mask_shape"].tolist()
    masks = np.unpackbits(data["masks_packed"], axis=1, count=height * width).reshape(count, height, width)
    return image, json.loads(str(data["arguments"])), masks.astype(bool), data


def _mask_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every mask of a [N, H, W] with every mask of b [M, H, W] -> [N, M]."""
    a = a.reshape(len(a), -1).astype(np.float32)
    b = b.reshape(len(b), -1).astype(np.float32)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return inter / np.maximum(union, 1)


@pytest.mark.parametrize("case", CASES)
def test_matches_reference(case, tiny_model):
    image, arguments, ref_masks, ref = _load_case(case)
    records = MaskGenerator(tiny_model, **arguments).generate(image)

    assert len(records) == len(ref_masks) > 0
    ours = np.stack([r["segmentation"] for r in records])
    iou = _mask_iou(ref_masks, ours)  # [reference, ours]
    match = iou.argmax(axis=1)
    assert len(set(match.tolist())) == len(match), "two reference masks matched the same mask"
    assert iou.max(axis=1).min() >= 0.99
    assert np.array_equal(match, np.arange(len(match))), "same masks, different order"
    np.testing.assert_allclose([r["predicted_iou"] for r in records], ref["predicted_iou"], atol=1e-4)
    np.testing.assert_allclose([r["stability_score"] for r in records], ref["stability_score"], atol=1e-3)
    np.testing.assert_allclose([r["point_coords"][0] for r in records], ref["point_coords"], atol=1e-4)
    np.testing.assert_allclose([r["area"] for r in records], ref["area"], rtol=1e-3)
    np.testing.assert_allclose([r["bbox"] for r in records], ref["bbox"], atol=1)
    np.testing.assert_array_equal([r["crop_box"] for r in records], ref["crop_box"])


# ---------------------------------------------------------------------- batching


class _CountingDecoder:
    """Stands in for the mask decoder's forward: records (number of prompts, multimask_output)
    of each call and returns cheap low-quality logits that no mask survives."""

    def __init__(self):
        self.calls: list[tuple[int, bool]] = []

    def __call__(self, image_embeddings, sparse_prompt_embeddings, multimask_output, **kwargs):
        batch = sparse_prompt_embeddings.shape[0]
        self.calls.append((batch, multimask_output))
        count = 3 if multimask_output else 1
        side = 4 * image_embeddings.shape[-1]
        tokens = torch.zeros(batch, count, image_embeddings.shape[1])
        return torch.full((batch, count, side, side), -5.0), torch.zeros(batch, count), tokens, torch.zeros(batch, 1)


@pytest.mark.parametrize("use_m2m", [False, True])
def test_grid_is_decoded_in_batches(small_model, monkeypatch, use_m2m):
    decoder = _CountingDecoder()
    monkeypatch.setattr(small_model.sam_mask_decoder, "forward", decoder)
    generator = MaskGenerator(small_model, points_per_side=32, points_per_batch=64, use_m2m=use_m2m)
    assert generator.generate(_random_image(720, 1280)) == []
    # 1,024 points in 16 batches of 64; with use_m2m each batch's 3 x 64 masks are fed back
    # as mask prompts, 64 at a time.
    per_batch = [(64, True)] + ([(64, False)] * 3 if use_m2m else [])
    assert decoder.calls == per_batch * 16


def test_last_batch_holds_the_remaining_points(small_model, monkeypatch):
    decoder = _CountingDecoder()
    monkeypatch.setattr(small_model.sam_mask_decoder, "forward", decoder)
    MaskGenerator(small_model, points_per_side=5, points_per_batch=12).generate(_random_image(40, 60))
    assert decoder.calls == [(12, True), (12, True), (1, True)]


# ---------------------------------------------------------------------- crops


def _disk_decoder(image_size: int, radius: float):
    """Stands in for MaskGenerator._decode: for each point, logits of a disk of `radius` crop
    pixels around it (positive inside), the same for every output mask, predicted IoU 0.9."""

    def decode(embedding, model_points, mask_input, multimask_output):
        crop_h, crop_w = embedding.crop_hw
        side = image_size // 4
        centres = (torch.arange(side) + 0.5) / side  # low-res pixel centres in [0, 1]
        x, y = (model_points / image_size).unbind(-1)  # [B]
        dx = (centres[None, None, :] - x[:, None, None]) * crop_w  # [B, 1, side]
        dy = (centres[None, :, None] - y[:, None, None]) * crop_h  # [B, side, 1]
        logits = radius - (dx**2 + dy**2).sqrt()  # [B, side, side]
        count = 3 if multimask_output else 1
        return logits[:, None].expand(-1, count, -1, -1), torch.full((len(logits), count), 0.9)

    return decode


def test_crop_layers_find_masks_in_image_coordinates(small_model):
    # A 300 x 200 image gives the layer-1 crops x0 in (0, 116), y0 in (0, 66), 184 x 134 each.
    crop_centres = [(92, 67), (92, 133), (208, 67), (208, 133)]
    layer_0 = np.array([(x / 300, y / 200) for x, y in crop_centres])
    generator = MaskGenerator(
        small_model, points_per_side=None, point_grids=[layer_0, np.array([[0.5, 0.5]])],
        crop_n_layers=1, stability_score_thresh=0.5,
    )
    # Only the crop geometry matters here: no image features, a synthetic decoder.
    generator._embed = lambda crop: _CropEmbedding(None, None, crop.shape[:2])
    generator._decode = _disk_decoder(small_model.image_size, radius=10.0)
    records = generator.generate(_random_image(200, 300))

    # Every disk is found on the whole image and in one crop; the crop's copy wins.
    assert len(records) == 4
    for record in records:
        (x, y), = record["point_coords"]
        assert (x, y) in crop_centres
        assert record["crop_box"] == [0 if x < 150 else 116, 0 if y < 100 else 66, 184, 134]
        ys, xs = np.nonzero(record["segmentation"])
        assert abs(xs.mean() - x) < 1 and abs(ys.mean() - y) < 1
        assert record["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]
        assert 17 <= record["bbox"][2] <= 21 and 17 <= record["bbox"][3] <= 21


def test_empty_masks_fail_the_stability_threshold_as_in_the_reference(small_model):
    # The reference's generator scores an empty mask 0/0 = NaN, which fails any threshold; the
    # shared stability score says 1 (the decoder's value), so the generator drops it itself.
    disks = _disk_decoder(small_model.image_size, radius=10.0)

    def left_point_empty(embedding, model_points, mask_input, multimask_output):
        logits, iou = disks(embedding, model_points, mask_input, multimask_output)
        empty = model_points[:, 0] < small_model.image_size / 2
        return torch.where(empty[:, None, None, None], torch.tensor(-5.0), logits), iou

    def generate(stability_score_thresh):
        generator = MaskGenerator(
            small_model, points_per_side=None, point_grids=[np.array([[0.25, 0.5], [0.75, 0.5]])],
            multimask_output=False, stability_score_thresh=stability_score_thresh,
        )
        generator._embed = lambda crop: _CropEmbedding(None, None, crop.shape[:2])
        generator._decode = left_point_empty
        return generator.generate(_random_image(60, 120))

    kept = generate(0.5)
    assert [r["point_coords"] for r in kept] == [[[90.0, 30.0]]] and kept[0]["area"] > 0
    unfiltered = generate(0.0)  # the threshold off: the empty mask stays, stability 1
    assert sorted((r["area"], r["stability_score"]) for r in unfiltered)[0] == (0, 1.0)
    assert len(unfiltered) == 2


# ---------------------------------------------------------------------- records and output modes


@pytest.fixture(scope="module")
def records_by_mode(small_model):
    image = _random_image(96, 128, seed=1)
    common = dict(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0)
    return {
        mode: MaskGenerator(small_model, output_mode=mode, **common).generate(image)
        for mode in ("binary_mask", "uncompressed_rle", "coco_rle")
    }


def test_output_modes_hold_the_same_masks(records_by_mode):
    binary = records_by_mode["binary_mask"]
    assert len(binary) == 48
    for mode in ("uncompressed_rle", "coco_rle"):
        assert len(records_by_mode[mode]) == len(binary)
        for ours, reference in zip(records_by_mode[mode], binary):
            segmentation = ours["segmentation"]
            assert segmentation["size"] == [96, 128]
            assert isinstance(segmentation["counts"], list if mode == "uncompressed_rle" else str)
            np.testing.assert_array_equal(rle_decode(segmentation), reference["segmentation"])
    for ours, reference in zip(records_by_mode["coco_rle"], binary):
        assert ours["segmentation"] == rle_encode(reference["segmentation"])


def test_records_describe_their_masks(records_by_mode):
    for record in records_by_mode["binary_mask"]:
        mask = record["segmentation"]
        assert mask.dtype == bool and mask.shape == (96, 128)
        assert record["area"] == int(mask.sum())
        ys, xs = np.nonzero(mask)
        assert record["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]
        assert record["crop_box"] == [0, 0, 128, 96]
        (x, y), = record["point_coords"]
        assert 0 <= x <= 128 and 0 <= y <= 96
        assert isinstance(record["predicted_iou"], float) and isinstance(record["stability_score"], float)


# ---------------------------------------------------------------------- small regions


def test_min_mask_region_area_removes_islands_and_holes_of_low_res_masks(small_model):
    low_res = torch.full((1, 64, 64), 5.0)
    low_res[0, :, 40:] = -5.0  # background on the right
    low_res[0, 10:12, 10:12] = -5.0  # a 4-pixel hole
    low_res[0, 30:33, 50:53] = 5.0  # a 9-pixel island
    generator = MaskGenerator(small_model, min_mask_region_area=9)
    cleaned = generator._upscale(low_res, (64, 64))[0] > 0
    expected = torch.zeros(64, 64, dtype=torch.bool)
    expected[:, :40] = True
    assert torch.equal(cleaned, expected)
    untouched = MaskGenerator(small_model)._upscale(low_res, (64, 64))[0] > 0
    assert torch.equal(untouched, low_res[0] > 0)


def test_remove_small_regions():
    mask = np.zeros((20, 20), dtype=bool)
    mask[2:12, 2:12] = True
    mask[5, 5] = False  # a one-pixel hole
    mask[15:17, 15:17] = True  # a four-pixel island
    filled, changed = remove_small_regions(mask, 2, mode="holes")
    assert changed and filled[5, 5] and filled.sum() == mask.sum() + 1
    cleaned, changed = remove_small_regions(filled, 5, mode="islands")
    assert changed and not cleaned[15:17, 15:17].any() and cleaned[2:12, 2:12].all()
    _, changed = remove_small_regions(cleaned, 5, mode="islands")
    assert not changed
    only_small = np.zeros((10, 10), dtype=bool)
    only_small[1, 1] = only_small[5:7, 5] = True
    largest, changed = remove_small_regions(only_small, 5, mode="islands")
    assert changed and largest.sum() == 2 and largest[5:7, 5].all()


def test_postprocess_small_regions_updates_changed_records():
    clean = np.zeros((30, 30), dtype=bool)
    clean[0:10, 0:10] = True
    speckled = np.zeros((30, 30), dtype=bool)
    speckled[15:25, 15:25] = True
    speckled[2, 28] = True  # an island far away, widening the box
    duplicate = clean.copy()
    duplicate[5, 5] = False  # a hole: same box as `clean`, so suppressed once filled
    records = [
        {"segmentation": m, "area": int(m.sum()), "bbox": [], "predicted_iou": 0.9}
        for m in (speckled, clean, duplicate)
    ]
    out = MaskGenerator.postprocess_small_regions(records, min_area=4, nms_thresh=0.7)
    assert [r["area"] for r in out] == [100, 100]
    assert out[0]["segmentation"] is clean  # unchanged masks come first and stay as they were
    assert out[1]["bbox"] == [15, 15, 9, 9] and out[1]["segmentation"][15:25, 15:25].all()


# ---------------------------------------------------------------------- building blocks


def test_point_grid_and_crop_boxes():
    np.testing.assert_allclose(point_grid(2), [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]])
    boxes, layers = crop_boxes((534, 800), 1, 512 / 1500)
    assert boxes == [[0, 0, 800, 534], [0, 0, 491, 358], [0, 176, 491, 534], [309, 0, 800, 358], [309, 176, 800, 534]]
    assert layers == [0, 1, 1, 1, 1]


def _brute_force_nms(boxes, scores, categories, threshold):
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])  # sorted() is stable
    kept = []
    for i in order:
        if not any(categories[i] == categories[k] and _box_iou(boxes[i], boxes[k]) > threshold for k in kept):
            kept.append(i)
    return kept


def _box_iou(a, b):
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else float("nan")


@pytest.mark.parametrize("seed", range(5))
def test_batched_nms_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 60, (80, 2))
    boxes = np.concatenate([corners, corners + rng.integers(0, 40, (80, 2))], axis=1).astype(np.float32)
    scores = rng.integers(0, 10, 80).astype(np.float32)  # many ties
    categories = rng.integers(0, 3, 80)
    for threshold in (0.3, 0.5, 0.7):
        kept = batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(categories), threshold)
        assert kept.tolist() == _brute_force_nms(boxes.tolist(), scores.tolist(), categories.tolist(), threshold)


def test_batched_nms_matches_torchvision():
    data = np.load(FIXTURES / "nms.npz")
    for i in range(len(data.files) // 5):
        boxes, scores, categories = (torch.from_numpy(data[f"{i}_{k}"]) for k in ("boxes", "scores", "categories"))
        kept = batched_nms(boxes, scores, categories, float(data[f"{i}_threshold"]))
        reference = data[f"{i}_kept"]
        if len(boxes) <= 1000:
            assert kept.tolist() == reference.tolist()
        else:  # torchvision orders tied scores arbitrarily here
            assert sorted(kept.tolist()) == sorted(reference.tolist())


def test_nms_breaks_ties_like_torchvision():
    # Kept indices that torchvision.ops.nms 0.29 returns for these inputs.
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10.5], [0, 0, 10, 10.2], [50, 50, 60, 60]])
    scores = torch.tensor([1.0, 1.0, 1.0, 0.0])
    assert nms(boxes, scores, 0.5).tolist() == [0, 3]
    assert nms(boxes.flip(0), scores.flip(0), 0.5).tolist() == [1, 0]
    assert nms(torch.zeros(2, 4), torch.tensor([1.0, 0.5]), 0.5).tolist() == [0, 1]  # empty boxes never overlap
    assert batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0), 0.5).tolist() == []


def test_masks_to_boxes_and_rle():
    rng = np.random.default_rng(0)
    masks = rng.random((6, 7, 9)) > 0.8
    masks[0] = False
    masks[1] = True
    boxes = masks_to_boxes(torch.from_numpy(masks))
    assert boxes[0].tolist() == [0, 0, 0, 0] and boxes[1].tolist() == [0, 0, 8, 6]
    for mask, box in zip(masks[2:], boxes[2:]):
        ys, xs = np.nonzero(mask)
        assert box.tolist() == [xs.min(), ys.min(), xs.max(), ys.max()]
    for mask, rle in zip(masks, masks_to_uncompressed_rle(torch.from_numpy(masks))):
        np.testing.assert_array_equal(rle_decode(rle), mask)
        assert sum(rle["counts"]) == mask.size and (rle["counts"][0] == 0) == bool(mask[0, 0])


def test_stability_score_and_crop_edges():
    logits = torch.tensor([[[2.0, 0.5], [-0.5, -2.0]]])
    assert stability_score(logits, 0.0, 1.0).tolist() == pytest.approx([1 / 3])
    crop, image = [0, 0, 100, 80], [0, 0, 200, 80]
    boxes = torch.tensor([[10, 10, 95, 50], [10, 10, 60, 79], [110, 10, 150, 50]])
    assert boxes_near_crop_edge(boxes, crop, image).tolist() == [True, False, False]


# ---------------------------------------------------------------------- arguments


def test_defaults_match_the_reference(small_model):
    generator = MaskGenerator(small_model)
    expected = dict(
        points_per_batch=64, pred_iou_thresh=0.8, stability_score_thresh=0.95, stability_score_offset=1.0,
        mask_threshold=0.0, box_nms_thresh=0.7, crop_n_layers=0, crop_nms_thresh=0.7,
        crop_overlap_ratio=512 / 1500, crop_n_points_downscale_factor=1, min_mask_region_area=0,
        output_mode="binary_mask", use_m2m=False, multimask_output=True,
    )
    assert {k: getattr(generator, k) for k in expected} == expected
    assert len(generator.point_grids) == 1 and generator.point_grids[0].shape == (1024, 2)
    assert masklet.SAM2AutomaticMaskGenerator is MaskGenerator


@pytest.mark.parametrize("name", ["masklet-nano", "masklet-lite"])
def test_bundled_models_default_to_their_own_thresholds(name):
    model = masklet.load_model(name)
    own = MODEL_THRESHOLDS[name]
    assert own != MaskThresholds()  # the reference's would keep none of the model's masks
    generator = MaskGenerator(model, points_per_side=4)
    assert (generator.pred_iou_thresh, generator.stability_score_thresh, generator.stability_score_offset) == (
        own.pred_iou_thresh, own.stability_score_thresh, own.stability_score_offset)
    explicit = MaskGenerator(model, points_per_side=4, pred_iou_thresh=0.8)
    assert (explicit.pred_iou_thresh, explicit.stability_score_thresh) == (0.8, own.stability_score_thresh)


# masklet-lite keeps about one mask per image with its thresholds (1.06 on GrabCut): its
# predicted IoUs are near 0 for all but its most confident mask (see its model card).
@pytest.mark.parametrize("name, at_least", [("masklet-nano", 3), ("masklet-lite", 1)])
def test_bundled_model_finds_masks_with_its_defaults(name, at_least):
    """What the thresholds are for: `serve` suggestions and `masklet auto` work on the bundled
    models without flags (with the reference's defaults they keep no mask of a real image)."""
    from skimage import data

    model = masklet.load_model(name)
    image = data.astronaut()
    assert MaskGenerator(model, points_per_side=8, **dataclasses.asdict(MaskThresholds())).generate(image) == []
    records = MaskGenerator(model, points_per_side=8).generate(image)
    assert len(records) >= at_least
    assert all(r["area"] > 0 for r in records)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(output_mode="rle"), "output_mode must be one of"),
        (dict(points_per_side=None), "exactly one of points_per_side"),
        (dict(point_grids=[np.zeros((4, 2))]), "exactly one of points_per_side"),
        (dict(points_per_side=None, point_grids=[np.zeros((4, 2))], crop_n_layers=1), "one grid per crop layer"),
        (dict(points_per_side=None, point_grids=[np.full((4, 2), 2.0)]), r"normalised to \[0, 1\]"),
        (dict(points_per_side=None, point_grids=[np.zeros(4)]), r"shape \[K, 2\]"),
        (dict(points_per_side=0), "points_per_side must be an integer >= 1"),
        (dict(points_per_side=2, crop_n_layers=2, crop_n_points_downscale_factor=2), "leaves no points"),
        (dict(points_per_batch=0), "points_per_batch must be an integer >= 1"),
        (dict(crop_n_layers=-1), "crop_n_layers must be an integer >= 0"),
        (dict(min_mask_region_area=-1), "min_mask_region_area must be >= 0"),
    ],
)
def test_bad_arguments(small_model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        MaskGenerator(small_model, **kwargs)


def test_bad_model_and_images(small_model):
    with pytest.raises(TypeError, match="SAM2Model"):
        MaskGenerator(object())
    generator = MaskGenerator(small_model, points_per_side=1)
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        generator.generate(np.zeros((32, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        generator.generate(np.zeros((3, 32, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="empty"):
        generator.generate(np.zeros((0, 32, 3), dtype=np.uint8))
    with pytest.raises(TypeError, match="numpy array"):
        generator.generate(torch.zeros(32, 32, 3))


def test_explicit_point_grids_and_pil_images(small_model):
    from PIL import Image

    image = _random_image(64, 80, seed=2)
    kwargs = dict(pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0)
    from_grid = MaskGenerator(small_model, points_per_side=None, point_grids=[point_grid(2)], **kwargs)
    from_side = MaskGenerator(small_model, points_per_side=2, **kwargs)
    records = from_grid.generate(Image.fromarray(image))
    assert len(records) == 12
    for a, b in itertools.zip_longest(records, from_side.generate(image)):
        np.testing.assert_array_equal(a["segmentation"], b["segmentation"])
        assert a["point_coords"] == b["point_coords"]


def test_single_mask_per_point(small_model):
    generator = MaskGenerator(
        small_model, points_per_side=2, multimask_output=False,
        pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0,
    )
    records = generator.generate(_random_image(64, 80, seed=3))
    assert sorted(tuple(r["point_coords"][0]) for r in records) == [(20, 16), (20, 48), (60, 16), (60, 48)]


def test_from_pretrained_loads_the_model_and_passes_arguments(small_model, monkeypatch):
    import masklet.checkpoint

    loaded = []

    def fake_load_model(name_or_path, device, dtype):
        loaded.append((name_or_path, device, dtype))
        return small_model

    monkeypatch.setattr(masklet.checkpoint, "load_model", fake_load_model)
    generator = MaskGenerator.from_pretrained("sam2.1-hiera-tiny", points_per_side=4, output_mode="coco_rle")
    assert loaded == [("sam2.1-hiera-tiny", "cpu", torch.float32)]
    assert generator.model is small_model and generator.output_mode == "coco_rle"
    assert generator.point_grids[0].shape == (16, 2)
