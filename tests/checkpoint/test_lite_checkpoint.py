"""masklet-lite checkpoints: Meta's format with the config inside, float16 storage as the
bundled weights use; the bundled weights load by name and segment, and a missing file gets a
clear error."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from conftest import davis_frame

import masklet
from masklet.checkpoint import CheckpointError
from masklet.checkpoint.formats import read_checkpoint
from masklet.checkpoint.registry import bundled_path


@pytest.fixture(scope="module")
def lite():
    torch.manual_seed(0)
    return masklet.build_model("masklet-lite")


def test_float16_meta_checkpoint_round_trips_with_its_config(tmp_path, lite):
    path = masklet.save_model(copy.deepcopy(lite).to(torch.float16), tmp_path / "lite.pt")
    stored = read_checkpoint(path)
    assert stored.config == lite.config and {v.dtype for v in stored.state_dict.values()} == {torch.float16}
    loaded = masklet.load_model(path)
    assert loaded.config == lite.config and loaded.dtype == torch.float32
    for name, value in lite.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value.half().float()), name

    rounded = copy.deepcopy(lite)
    rounded.load_state_dict({k: v.half().float() for k, v in lite.state_dict().items()})
    frame, mask = davis_frame("blackswan", 0)
    ys, xs = np.nonzero(mask)
    click = dict(point_coords=np.array([[xs.mean(), ys.mean()]]), point_labels=np.array([1]))
    masks = []
    for model in (loaded, rounded):
        predictor = masklet.ImagePredictor(model)
        predictor.set_image(frame)
        masks.append(predictor.predict(**click)[0])
    assert masks[0].shape == (3, *frame.shape[:2]) and np.array_equal(masks[0], masks[1])


def test_bundled_weights_load_by_name_and_segment():
    model = masklet.load_model("masklet-lite")
    assert model.config == masklet.get_config("masklet-lite") and model.dtype == torch.float32
    assert {v.dtype for v in read_checkpoint(bundled_path("masklet-lite")).state_dict.values()} == {torch.float16}
    frame, mask = davis_frame("blackswan", 0)
    ys, xs = np.nonzero(mask)
    predictor = masklet.ImagePredictor(model)
    predictor.set_image(frame)
    box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)
    predicted = predictor.predict(box=box, multimask_output=False)[0][0]
    assert (predicted & (mask > 0)).sum() / (predicted | (mask > 0)).sum() > 0.6  # trained: random weights give ~0


def test_missing_weights_and_hf_export_get_clear_errors(tmp_path, lite, monkeypatch):
    monkeypatch.setattr("masklet.checkpoint.loading.bundled_path", lambda name: None)
    with pytest.raises(CheckpointError, match=r"masklet-lite: its weights \(masklet/weights/masklet-lite.pt\) are "
                                              r"missing.*build_model\('masklet-lite'\)"):
        masklet.load_model("masklet-lite")
    with pytest.raises(CheckpointError, match="the Hugging Face layout describes Hiera trunks only"):
        masklet.save_model(lite, tmp_path / "hf", format="hf")
