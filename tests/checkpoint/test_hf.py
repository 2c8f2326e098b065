"""The Hugging Face layout: key mapping against transformers' own Sam2VideoModel layout."""

from __future__ import annotations

import json

import pytest
import torch
from cases import FIXTURES
from weights import seeded_state_dict

import masklet
from masklet.checkpoint import hf

KEYS = FIXTURES.parent.parent / "keys"


def test_meta_to_hf_gives_transformers_layout():
    """tests/fixtures/keys/sam2.1-hiera-tiny.hf.json lists transformers 5.23's
    Sam2VideoModel state-dict (default config = SAM 2.1 tiny)."""
    expected = json.loads((KEYS / "sam2.1-hiera-tiny.hf.json").read_text())
    meta = {k: torch.empty(s) for k, s in json.loads((KEYS / "sam2.1-hiera-tiny.json").read_text()).items()}
    converted = {k: list(v.shape) for k, v in hf.meta_to_hf(meta).items()}
    assert converted == expected


@pytest.mark.parametrize("name", [n for n in masklet.list_configs() if n.startswith("sam2")])
def test_round_trip_is_bit_identical(name):
    shapes = json.loads((KEYS / f"{name}.json").read_text())
    state = seeded_state_dict(shapes, seed=3)
    back = hf.hf_to_meta(hf.meta_to_hf(state))
    assert set(back) == set(state)
    assert all(torch.equal(back[k], state[k]) for k in state)


@pytest.mark.parametrize("name", [n for n in masklet.list_configs() if n.startswith("sam2")])
def test_config_json_round_trip(name):
    cfg = masklet.get_config(name)
    assert hf.config_from_hf(hf.hf_config_from(cfg)) == cfg


def test_unknown_keys_are_named():
    with pytest.raises(KeyError, match="image_encoder.trunk.extra.weight"):
        hf.meta_to_hf({"image_encoder.trunk.extra.weight": torch.zeros(1)})
    with pytest.raises(KeyError, match="vision_encoder.mystery"):
        hf.hf_to_meta({"vision_encoder.mystery": torch.zeros(1)})
