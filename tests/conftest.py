"""Shared test helpers: repo paths, the shared real data, seeded weights."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "tools" / "parity"))

torch.set_num_threads(max(1, torch.get_num_threads()))


def require_shared_data() -> Path:
    """../shared/data, or skip: it sits beside the project on CI and dev machines only."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (a plain clone has no ../shared)")
    return SHARED_DATA


def seeded_model(config, seed: int = 0):
    """A Masklet model with the deterministic parity weights."""
    from weights import seeded_state_dict

    import masklet

    model = masklet.build_model(config)
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=seed))
    return model


@pytest.fixture(scope="session")
def tiny_model():
    return seeded_model("sam2.1-hiera-tiny")


@pytest.fixture(scope="session")
def truck_image():
    import numpy as np
    from PIL import Image

    data = require_shared_data()
    return np.asarray(Image.open(data / "images" / "truck.jpg").convert("RGB"))
