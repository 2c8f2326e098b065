"""How load_model tells model names from paths: official names and the aliases get_config
accepts, the bundled model, configs without weights, and names that are also files here."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from conftest import micro_config, seeded_model

import masklet
from masklet.checkpoint import CheckpointError, resolve_checkpoint
from masklet.checkpoint.registry import bundled_path, cached_path
from masklet.config import MODEL_CONFIGS, registered_name


@pytest.fixture(scope="module")
def official_home(tmp_path_factory):
    """A cache folder holding sam2.1-hiera-tiny as Meta publishes it ({"model": state-dict},
    seeded weights), so names resolve to it without a download."""
    home = tmp_path_factory.mktemp("home")
    path = home / "checkpoints" / "sam2.1_hiera_tiny.pt"
    path.parent.mkdir()
    torch.save({"model": seeded_model("sam2.1-hiera-tiny").state_dict()}, path)
    return home


@pytest.fixture
def home(official_home, monkeypatch):
    monkeypatch.setenv("MASKLET_HOME", str(official_home))
    return official_home


@pytest.mark.parametrize("alias", ["sam2.1-hiera-tiny", "tiny", "2.1-tiny", "SAM2.1_hiera_tiny"])
def test_aliases_resolve_to_the_official_checkpoint(home, alias):
    assert registered_name(alias) == "sam2.1-hiera-tiny" == masklet.get_config(alias).name
    assert resolve_checkpoint(alias) == cached_path("sam2.1-hiera-tiny")


def test_other_versions_and_sizes_resolve_to_their_files(home, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKLET_HOME", str(tmp_path))
    for name in ("sam2-hiera-large", "sam2.1-hiera-base-plus"):
        cached_path(name).parent.mkdir(exist_ok=True)
        cached_path(name).write_bytes(b"placed by hand")
    assert resolve_checkpoint("2.0-large") == cached_path("sam2-hiera-large")
    assert resolve_checkpoint("sam2.1_hiera_base+") == cached_path("sam2.1-hiera-base-plus")


def test_load_model_by_alias_loads_the_official_weights(home):
    model = masklet.load_model("tiny")
    assert model.config.name == "sam2.1-hiera-tiny"
    stored = torch.load(cached_path("sam2.1-hiera-tiny"), weights_only=True)["model"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, stored[name]), name


@pytest.mark.parametrize("name, model", [("tiny", "sam2.1-hiera-tiny"), ("masklet-nano", "masklet-nano")])
@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_name_that_is_also_a_path_here_is_refused(home, tmp_path, monkeypatch, name, model, kind):
    monkeypatch.chdir(tmp_path)
    micro = seeded_model(micro_config())
    if kind == "file":
        masklet.save_model(micro, tmp_path / name)
    else:
        masklet.save_model(micro, tmp_path / name, format="hf")
    with pytest.raises(CheckpointError) as err:
        masklet.load_model(name)
    message = str(err.value)
    assert f"'{name}' is both a model name ({model}) and a file or folder here" in message
    assert f"write ./{name} for the file, or {model} for the model" in message
    assert masklet.load_model(f"./{name}").config == micro.config
    assert masklet.load_model(Path(name)).config == micro.config  # a Path is always a path
    if model != name:
        assert masklet.load_model(model).config.name == model


def test_bundled_name_and_its_alias(home):
    assert resolve_checkpoint("masklet-nano") == bundled_path("masklet-nano")
    assert resolve_checkpoint("Masklet_Nano") == bundled_path("masklet-nano")


def test_bundled_weights_missing_from_the_installation(home, monkeypatch):
    monkeypatch.setattr("masklet.checkpoint.loading.bundled_path", lambda name: None)
    with pytest.raises(CheckpointError, match=r"masklet-nano: its weights \(masklet/weights/masklet-nano.pt\) are missing"):
        masklet.load_model("masklet-nano")


def test_a_config_without_weights_says_so(home, monkeypatch):
    config = dataclasses.replace(micro_config(), name="names-test-custom")
    monkeypatch.setitem(MODEL_CONFIGS, config.name, config)
    with pytest.raises(CheckpointError) as err:
        masklet.load_model("names-test-custom")
    message = str(err.value)
    assert "'names-test-custom' is a model config without weights" in message
    assert "sam2.1-hiera-tiny" in message and "masklet-nano" in message
    assert "build_model('names-test-custom') makes a randomly initialised model" in message


def test_unknown_name_lists_names_and_aliases(home):
    with pytest.raises(CheckpointError) as err:
        masklet.load_model("sam3-hiera-gigantic")
    message = str(err.value)
    assert message.startswith("sam3-hiera-gigantic: neither an existing file nor a known model name")
    assert "masklet-nano" in message and "sam2.1-hiera-large" in message and "tiny, 2.0-large" in message
