"""Accuracy guard of the fast path: bfloat16 weights and activations (`dtype=torch.bfloat16`,
`--dtype bfloat16`) against float32, the parity path, with the bundled masklet-nano.

The bar: on the parity images, every candidate mask's logits lie within 0.25 of float32's
(measured: 0.08 at most) and the masks agree (IoU >= 0.98 for the best-scored one, >= 0.95 for
the others) on the pixels float32 is sure of (|logit| >= 0.25: nano leaves wide areas of some
masks at logits near 0, where any rounding flips pixels); on every frame of real DAVIS clips the
masks agree at IoU >= 0.98; object scores agree in sign; DAVIS J&F moves by at most 0.005.
Few frames: on CPUs without native bfloat16 (AVX2 only) this path is slower than float32, and
benchmarks/nano_eval.py --dtype bfloat16 runs the full sequences.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cases import PROMPTS, load_image
from conftest import require_shared_data

import masklet
from masklet.eval.run_vos import run_vos_benchmark
from masklet.io.vos_dataset import open_vos_dataset

MIN_IOU = 0.98
MIN_CANDIDATE_IOU = 0.95
MAX_LOGIT_DIFF = 0.25
SURE_LOGIT = 0.25  # pixels with float32 logits at least this far from 0 count in the image IoUs
MAX_JF_CHANGE = 0.005
DAVIS_FRAMES = 6
DTYPES = (torch.float32, torch.bfloat16)


@pytest.fixture(scope="module")
def models():
    return {dtype: masklet.load_model("masklet-nano", dtype=dtype) for dtype in DTYPES}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


@pytest.mark.parametrize("image_name", sorted(PROMPTS))
def test_image_masks_match_float32(models, image_name):
    require_shared_data()
    image = load_image(image_name)
    outputs = {}
    for dtype, model in models.items():
        predictor = masklet.ImagePredictor(model)
        predictor.set_image(image)
        outputs[dtype] = [predictor.predict(**case.kwargs(), return_logits=True)[:2]
                          for case in PROMPTS[image_name] if not case.mask_from]
    for (logits32, scores32), (logits16, _) in zip(outputs[torch.float32], outputs[torch.bfloat16]):
        # [prompts, candidates, H, W] and [prompts, candidates]
        logits32, logits16 = (m.reshape(-1, *m.shape[-3:]) for m in (logits32, logits16))
        scores32 = scores32.reshape(len(logits32), -1)
        assert np.abs(logits32 - logits16).max() <= MAX_LOGIT_DIFF
        for candidates32, candidates16, scores in zip(logits32, logits16, scores32):
            sure = np.abs(candidates32) >= SURE_LOGIT
            ious = [iou((a > 0) & s, (b > 0) & s) for a, b, s in zip(candidates32, candidates16, sure)]
            assert ious[int(np.argmax(scores))] >= MIN_IOU and min(ious) >= MIN_CANDIDATE_IOU, ious


def test_davis_masks_and_jf_match_float32(models, tmp_path):
    dataset = require_shared_data() / "davis2016-val"
    sequences = open_vos_dataset(dataset).sequence_names()
    runs, label_maps = {}, {}
    for dtype, model in models.items():
        folder = tmp_path / str(dtype)
        runs[dtype] = run_vos_benchmark(model, dataset, folder, sequences, max_frames=DAVIS_FRAMES, show_progress=False)
        label_maps[dtype] = {p.relative_to(folder): masklet.io.read_davis_png(p) for p in sorted(folder.rglob("*.png"))}
    assert label_maps[torch.float32].keys() == label_maps[torch.bfloat16].keys()
    assert len(label_maps[torch.float32]) == len(sequences) * DAVIS_FRAMES
    for name, label_map in label_maps[torch.float32].items():
        assert iou(label_map > 0, label_maps[torch.bfloat16][name] > 0) >= MIN_IOU, name
    jf = {dtype: run.results["global"]["J&F"] for dtype, run in runs.items()}
    print(f"J&F over {len(sequences)} sequences x {DAVIS_FRAMES} frames: float32 {jf[torch.float32]:.4f}, "
          f"bfloat16 {jf[torch.bfloat16]:.4f}")
    assert abs(jf[torch.float32] - jf[torch.bfloat16]) <= MAX_JF_CHANGE


def test_object_scores_agree_in_sign(models):
    clip = open_vos_dataset(require_shared_data() / "davis2016-val").sequence("dog").first_frames(4)
    scores = {}
    for dtype, model in models.items():
        predictor = masklet.VideoPredictor(model, show_progress=False)
        state = predictor.init_state([str(p) for p in clip.frames])
        predictor.add_new_points_or_box(state, frame_idx=0, obj_id=1, points=[[400, 200]], labels=[1])
        predictor.add_new_points_or_box(state, frame_idx=0, obj_id=2, points=[[50, 50]], labels=[1])
        scores[dtype] = np.stack([r.object_score_logits.float().numpy() for r in predictor.propagate(state)])
    print("object score logits, float32:", scores[torch.float32].round(2).tolist())
    assert (np.sign(scores[torch.float32]) == np.sign(scores[torch.bfloat16])).all()
