"""The bundled masklet-nano weights track: a guard against shipping weights that do not (the
full evaluation is benchmarks/nano_eval.py; its figures are in src/masklet/weights/MODEL_CARD.md)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_shared_data
from PIL import Image

import masklet

FRAMES = 20


@pytest.mark.parametrize("sequence", ["blackswan", "car-shadow"])
def test_tracks_a_davis_object_better_than_copying_its_first_frame_mask(sequence):
    davis = require_shared_data() / "davis2016-val"
    paths = sorted((davis / "JPEGImages" / "480p" / sequence).glob("*.jpg"))[:FRAMES]
    truth = [np.array(Image.open(davis / "Annotations" / "480p" / sequence / f"{p.stem}.png")) > 0 for p in paths]
    predictor = masklet.VideoPredictor(masklet.load_model("masklet-nano"), show_progress=False)
    state = predictor.init_state([np.array(Image.open(p).convert("RGB")) for p in paths])
    predictor.add_new_mask(state, frame_idx=0, obj_id=1, mask=truth[0])
    masks = {t: (logits[0, 0] > 0).numpy() for t, _, logits in predictor.propagate_in_video(state)}

    def iou(a, b):
        return (a & b).sum() / (a | b).sum()

    tracked = np.mean([iou(masks[t], truth[t]) for t in range(1, FRAMES)])
    copied = np.mean([iou(truth[0], truth[t]) for t in range(1, FRAMES)])
    print(f"{sequence}: mean IoU over frames 1-{FRAMES - 1}: masklet-nano {tracked:.3f}, copy {copied:.3f}")
    assert tracked > copied + 0.1
