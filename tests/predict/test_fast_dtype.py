"""Accuracy guard of the fast settings against float32, the parity path: bfloat16 weights and
activations (`dtype="bfloat16"`, `--dtype bfloat16`) and the int8 image encoder
(`dtype="int8"`), which `dtype="auto"` picks per machine; with the bundled masklet-nano, and
sam2.1-hiera-tiny (seeded weights) for a real-size model.

The bar: on the parity images, every candidate mask's logits lie within 0.25 of float32's
(measured on nano: 0.08 at most in bfloat16) and the masks agree (IoU >= 0.98 for the
best-scored one, >= 0.95 for the others) on the pixels float32 is sure of (|logit| >= 0.25:
nano leaves wide areas of some masks at logits near 0, where any rounding flips pixels); on
every frame of real DAVIS clips the masks agree at IoU >= 0.98; object scores agree in sign;
DAVIS J&F moves by at most 0.005. On the real-size model, whose seeded logits range over about
+-15, the logits lie within 0.5 (measured: 0.20 bfloat16, 0.43 int8) and the IoUs count every
pixel (measured: >= 0.99 for the best-scored masks, >= 0.978 for the others). Few frames: on CPUs without native bfloat16 (AVX2 only) that
path is slower than float32, and benchmarks/nano_eval.py --dtype bfloat16 runs the full
sequences. int8 runs wherever torch's x86 int8 kernels do (AVX2 or better).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from cases import PROMPTS, case_by_name, load_image
from conftest import require_shared_data, seeded_model

import masklet
from masklet.checkpoint.compute import CpuFeatures
from masklet.checkpoint.loading import compute_setting, in_setting
from masklet.eval.run_vos import run_vos_benchmark
from masklet.io.vos_dataset import open_vos_dataset

MIN_IOU = 0.98
MIN_CANDIDATE_IOU = 0.95
MAX_LOGIT_DIFF = 0.25
SURE_LOGIT = 0.25  # pixels with float32 logits at least this far from 0 count in the image IoUs
REAL_SIZE_MAX_LOGIT_DIFF = 0.5
MAX_JF_CHANGE = 0.005
DAVIS_FRAMES = 6
FAST = ("bfloat16", "int8")
REAL_SIZE_PROMPTS = ("point", "box", "boxes")  # of the truck image

if not CpuFeatures.detect().int8_kernels:
    FAST = ("bfloat16",)  # dtype int8 is refused without the kernels (tests/checkpoint/test_compute.py)


@pytest.fixture(scope="module")
def models():
    return {dtype: masklet.load_model("masklet-nano", dtype=dtype) for dtype in ("float32", *FAST)}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


def image_outputs(model, image: np.ndarray, cases) -> list[tuple[np.ndarray, np.ndarray]]:
    """(logits [prompts * candidates, H, W], scores [prompts * candidates]) of each prompt case."""
    predictor = masklet.ImagePredictor(model)
    predictor.set_image(image)
    outputs = []
    for case in cases:
        logits, scores = predictor.predict(**case.kwargs(), return_logits=True)[:2]
        outputs.append((logits.reshape(-1, *logits.shape[-2:]), scores.reshape(-1)))
    return outputs


def assert_masks_match(float32_outputs, fast_outputs, max_logit_diff: float, sure_logit: float) -> None:
    for (logits32, scores32), (fast_logits, _) in zip(float32_outputs, fast_outputs):
        assert np.abs(logits32 - fast_logits).max() <= max_logit_diff
        sure = np.abs(logits32) >= sure_logit
        ious = [iou((a > 0) & s, (b > 0) & s) for a, b, s in zip(logits32, fast_logits, sure)]
        assert ious[int(np.argmax(scores32))] >= MIN_IOU and min(ious) >= MIN_CANDIDATE_IOU, ious


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize("image_name", sorted(PROMPTS))
def test_image_masks_match_float32(models, image_name, fast):
    require_shared_data()
    image = load_image(image_name)
    cases = [case for case in PROMPTS[image_name] if not case.mask_from]
    assert_masks_match(image_outputs(models["float32"], image, cases), image_outputs(models[fast], image, cases),
                       MAX_LOGIT_DIFF, SURE_LOGIT)


@pytest.mark.slow
def test_real_size_model_masks_match_float32():
    """sam2.1-hiera-tiny at 1024 px (seeded weights), every fast setting on the truck's prompts."""
    require_shared_data()
    image, cases = load_image("truck"), [case_by_name("truck", name) for name in REAL_SIZE_PROMPTS]
    model = seeded_model("sam2.1-hiera-tiny")
    float32_outputs = image_outputs(model, image, cases)
    for fast in FAST:
        fast_model = in_setting(copy.deepcopy(model), compute_setting("cpu", fast))
        assert_masks_match(float32_outputs, image_outputs(fast_model, image, cases), REAL_SIZE_MAX_LOGIT_DIFF,
                           sure_logit=0.0)


@pytest.fixture(scope="module")
def davis_label_maps(models, tmp_path_factory):
    """{dtype: (J&F, {png path: label map})} over the first DAVIS_FRAMES of every sequence."""
    dataset = require_shared_data() / "davis2016-val"
    sequences = open_vos_dataset(dataset).sequence_names()
    results = {}
    for dtype, model in models.items():
        folder = tmp_path_factory.mktemp(dtype)
        run = run_vos_benchmark(model, dataset, folder, sequences, max_frames=DAVIS_FRAMES, show_progress=False)
        label_maps = {p.relative_to(folder): masklet.io.read_davis_png(p) for p in sorted(folder.rglob("*.png"))}
        assert len(label_maps) == len(sequences) * DAVIS_FRAMES
        results[dtype] = run.results["global"]["J&F"], label_maps
    return results


@pytest.mark.parametrize("fast", FAST)
def test_davis_masks_and_jf_match_float32(davis_label_maps, fast):
    (jf32, label_maps32), (jf_fast, fast_label_maps) = davis_label_maps["float32"], davis_label_maps[fast]
    assert label_maps32.keys() == fast_label_maps.keys()
    for name, label_map in label_maps32.items():
        assert iou(label_map > 0, fast_label_maps[name] > 0) >= MIN_IOU, name
    print(f"J&F over {DAVIS_FRAMES} frames of each sequence: float32 {jf32:.4f}, {fast} {jf_fast:.4f}")
    assert abs(jf32 - jf_fast) <= MAX_JF_CHANGE


@pytest.mark.parametrize("fast", FAST)
def test_object_scores_agree_in_sign(models, fast):
    clip = open_vos_dataset(require_shared_data() / "davis2016-val").sequence("dog").first_frames(4)
    scores = {}
    for dtype in ("float32", fast):
        predictor = masklet.VideoPredictor(models[dtype], show_progress=False)
        state = predictor.init_state([str(p) for p in clip.frames])
        predictor.add_new_points_or_box(state, frame_idx=0, obj_id=1, points=[[400, 200]], labels=[1])
        predictor.add_new_points_or_box(state, frame_idx=0, obj_id=2, points=[[50, 50]], labels=[1])
        scores[dtype] = np.stack([r.object_score_logits.float().numpy() for r in predictor.propagate(state)])
    print("object score logits, float32:", scores["float32"].round(2).tolist())
    assert (np.sign(scores["float32"]) == np.sign(scores[fast])).all()
