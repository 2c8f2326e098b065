"""The model-free baselines through the real benchmark runners, on small synthetic data."""

from __future__ import annotations

import numpy as np
from PIL import Image

from masklet.eval.baselines import CopyMaskPredictor, RandomWalkerClicker
from masklet.eval.interactive import Click, click_ious
from masklet.eval.run_vos import run_vos_benchmark


def _davis_folder(root, shifts):
    """A DAVIS-layout dataset: sequence `vid`, one 20x20 square per frame shifted right by
    `shifts[t]` pixels (48x64 frames)."""
    frames, annotations = root / "JPEGImages" / "480p" / "vid", root / "Annotations" / "480p" / "vid"
    frames.mkdir(parents=True)
    annotations.mkdir(parents=True)
    for t, dx in enumerate(shifts):
        labels = np.zeros((48, 64), np.uint8)
        labels[10:30, 5 + dx : 25 + dx] = 255
        Image.fromarray(np.repeat(labels[..., None], 3, axis=2)).save(frames / f"{t:05d}.jpg")
        Image.fromarray(labels).save(annotations / f"{t:05d}.png")
    return root


def test_copy_mask_is_exact_on_a_still_object_and_not_on_a_moving_one(tmp_path):
    still = _davis_folder(tmp_path / "still", [0] * 5)
    run = run_vos_benchmark(CopyMaskPredictor(), still, tmp_path / "out-still", workers=1, show_progress=False)
    assert run.results["global"] == {"J": 1.0, "F": 1.0, "J&F": 1.0}
    assert run.frames == 5

    moving = _davis_folder(tmp_path / "moving", [0, 4, 8, 12, 16])
    run = run_vos_benchmark(CopyMaskPredictor(), moving, tmp_path / "out-moving", workers=1, show_progress=False)
    written = np.asarray(Image.open(tmp_path / "out-moving" / "vid" / "00004.png"))
    np.testing.assert_array_equal(written > 0, np.asarray(Image.open(moving / "Annotations/480p/vid/00000.png")) > 0)
    # Frames 1-3 (first and last not scored): the square moved 4, 8, 12 of its 20 pixels.
    expected_j = np.mean([(20 - d) / (20 + d) for d in (4, 8, 12)])
    assert abs(run.results["sequences"]["vid"]["J"]["mean"] - expected_j) < 1e-9


def test_random_walker_segments_a_plain_square_from_one_click():
    image = np.full((60, 80, 3), (200, 180, 40), np.uint8)
    truth = np.zeros((60, 80), bool)
    truth[15:45, 20:50] = True
    image[truth] = (30, 60, 200)
    full_size = RandomWalkerClicker(max_side=80)
    full_size.set_image(image)
    np.testing.assert_array_equal(full_size.predict_clicks([Click(35, 30, True)]), truth)
    assert not full_size.predict_clicks([Click(35, 30, True), Click(35, 30, False)]).any()
    # Solved at half size, the edges blur by about a pixel.
    ious = click_ious(RandomWalkerClicker(max_side=40), image, truth, max_clicks=2)
    assert len(ious) == 2 and ious[0] > 0.75
