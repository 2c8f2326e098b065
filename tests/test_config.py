from __future__ import annotations

import dataclasses

import pytest

import masklet
from masklet.config import SAM2Config


def test_eight_official_configs():
    names = masklet.list_configs()
    for size in ("tiny", "small", "base-plus", "large"):
        assert f"sam2-hiera-{size}" in names and f"sam2.1-hiera-{size}" in names
    assert masklet.get_config("sam2-hiera-large").version == "2.0"
    assert masklet.get_config("sam2.1-hiera-large").trunk.window_spec == (8, 4, 16, 8)
    assert masklet.get_config("sam2.1-hiera-base-plus").backbone_channel_list == (896, 448, 224, 112)


def test_aliases_and_unknown():
    assert masklet.get_config("tiny").name == "sam2.1-hiera-tiny"
    assert masklet.get_config("2.0-large").name == "sam2-hiera-large"
    assert masklet.get_config("2.1-base-plus").name == "sam2.1-hiera-base-plus"
    assert masklet.get_config("2.0-base+").name == "sam2-hiera-base-plus"
    assert masklet.get_config("sam2.1_hiera_base+").name == "sam2.1-hiera-base-plus"
    with pytest.raises(KeyError, match="known"):
        masklet.get_config("huge")


def test_registered_names_resolve_exactly_before_aliases(monkeypatch):
    from masklet.config import MODEL_CONFIGS, registered_name

    custom = dataclasses.replace(masklet.get_config("tiny"), name="Custom_Widths")
    monkeypatch.setitem(MODEL_CONFIGS, custom.name, custom)
    assert masklet.get_config("Custom_Widths") == custom
    assert registered_name("masklet_nano") == "masklet-nano"
    assert registered_name("./tiny") is None and registered_name("runs/tiny.pt") is None


def test_invalid_custom_configs_are_rejected():
    trunk = masklet.get_config("tiny").trunk
    with pytest.raises(ValueError, match="window_spec"):
        SAM2Config(trunk=dataclasses.replace(trunk, window_spec=(8, 4)))
    with pytest.raises(ValueError, match="multiple of 32"):
        SAM2Config(image_size=1000)
    with pytest.raises(ValueError, match="global_att_blocks"):
        SAM2Config(trunk=dataclasses.replace(trunk, global_att_blocks=(50,)))


def test_dict_round_trip_and_registration(monkeypatch):
    from masklet.config import MODEL_CONFIGS

    monkeypatch.setattr("masklet.config.MODEL_CONFIGS", dict(MODEL_CONFIGS))  # the registration ends with the test
    cfg = dataclasses.replace(masklet.get_config("small"), name="my-small-512", image_size=512)
    assert SAM2Config.from_dict(cfg.to_dict()) == cfg
    masklet.register_config(cfg)
    assert masklet.get_config("my-small-512") == cfg
    with pytest.raises(ValueError, match="already registered"):
        masklet.register_config(cfg)
