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


def test_masklet_lite_has_an_efficientnet_trunk_read_by_the_fpn():
    from masklet.config import EfficientNetLite0Config

    lite = masklet.get_config("masklet-lite")
    assert isinstance(lite.trunk, EfficientNetLite0Config) and lite.backbone_channel_list == (320, 112, 40, 24)
    assert lite.image_size == 384 and lite.backbone_stride == 16 and lite.image_embedding_size == 24


def test_either_trunk_kind_round_trips_through_a_dict():
    lite, tiny = masklet.get_config("masklet-lite"), masklet.get_config("tiny")
    assert lite.to_dict()["trunk"] == {"kind": "efficientnet-lite0", "drop_path_rate": 0.0}
    assert tiny.to_dict()["trunk"]["kind"] == "hiera"
    for cfg in (lite, tiny, dataclasses.replace(lite, trunk=dataclasses.replace(lite.trunk, drop_path_rate=0.1))):
        assert SAM2Config.from_dict(cfg.to_dict()) == cfg


def test_configs_saved_before_trunk_kinds_load_as_hiera():
    tiny = masklet.get_config("tiny")
    saved = tiny.to_dict()
    del saved["trunk"]["kind"]
    assert SAM2Config.from_dict(saved) == tiny


def test_unknown_trunk_kinds_and_fields_are_config_errors():
    from masklet.errors import ConfigError

    lite = masklet.get_config("masklet-lite").to_dict()
    with pytest.raises(ConfigError, match="unknown trunk kind 'resnet50'; known: hiera, efficientnet-lite0"):
        SAM2Config.from_dict({**lite, "trunk": {"kind": "resnet50"}})
    with pytest.raises(ConfigError, match=r"unknown EfficientNetLite0Config fields \['embed_dim'\]"):
        SAM2Config.from_dict({**lite, "trunk": {"kind": "efficientnet-lite0", "embed_dim": 96}})
    with pytest.raises(ConfigError, match="drop_path_rate must be float"):
        SAM2Config.from_dict({**lite, "trunk": {"kind": "efficientnet-lite0", "drop_path_rate": "high"}})
    with pytest.raises(ConfigError, match="trunk must be a HieraConfig or an EfficientNetLite0Config, got dict"):
        SAM2Config(trunk={"kind": "hiera"})  # type: ignore[arg-type]
