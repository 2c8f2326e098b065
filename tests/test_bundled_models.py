"""The bundled weights (masklet-nano, masklet-lite) track: a guard against shipping weights that
do not (the full evaluation is benchmarks/nano_eval.py; its figures are in the model cards,
src/masklet/weights/MODEL_CARD.md and MODEL_CARD-lite.md)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_shared_data
from PIL import Image

import masklet
from masklet.io.davis import read_davis_png
from masklet.io.vos_dataset import open_vos_dataset

FRAMES = 20


@pytest.mark.parametrize("model", ["masklet-nano", "masklet-lite"])
@pytest.mark.parametrize("sequence", ["blackswan", "car-shadow"])
def test_tracks_a_davis_object_better_than_copying_its_first_frame_mask(sequence, model):
    clip = open_vos_dataset(require_shared_data() / "davis2016-val").sequence(sequence).first_frames(FRAMES)
    truth = [read_davis_png(clip.annotations[t]) > 0 for t in range(FRAMES)]
    predictor = masklet.VideoPredictor(masklet.load_model(model), show_progress=False)
    state = predictor.init_state([np.array(Image.open(p).convert("RGB")) for p in clip.frames])
    predictor.add_new_mask(state, frame_idx=0, obj_id=1, mask=truth[0])
    masks = {t: (logits[0, 0] > 0).numpy() for t, _, logits in predictor.propagate_in_video(state)}

    def iou(a, b):
        return (a & b).sum() / (a | b).sum()

    tracked = np.mean([iou(masks[t], truth[t]) for t in range(1, FRAMES)])
    copied = np.mean([iou(truth[0], truth[t]) for t in range(1, FRAMES)])
    print(f"{sequence}: mean IoU over frames 1-{FRAMES - 1}: {model} {tracked:.3f}, copy {copied:.3f}")
    assert tracked > copied + 0.1
