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


def micro_config(image_size: int = 64):
    """A very small SAM 2 (4-block Hiera, 64x64 input by default) for fast behaviour tests."""
    from masklet.config import HieraConfig, SAM2Config

    trunk = HieraConfig(
        embed_dim=16, num_heads=1, stages=(1, 1, 1, 1), global_att_blocks=(3,),
        window_spec=(4, 4, 4, 4), window_pos_embed_bkg_spatial_size=(4, 4),
    )
    return SAM2Config(name=f"micro-{image_size}", image_size=image_size, trunk=trunk)


def visible_objects(model, bias: float = 2.0):
    """Shift the object-score head so seeded weights call objects visible (they say
    'absent' otherwise, which blanks every tracked mask)."""
    with torch.no_grad():
        model.get_parameter("sam_mask_decoder.pred_obj_score_head.layers.2.bias").add_(bias)
    return model


@pytest.fixture(scope="session")
def micro_model():
    return visible_objects(seeded_model(micro_config(128)))


@pytest.fixture(scope="session")
def nano():
    """The bundled masklet-nano."""
    import masklet

    return masklet.load_model("masklet-nano")


@pytest.fixture(scope="session")
def bedroom_frames():
    """The first 18 frames of the real bedroom video, halved to 480x270."""
    import numpy as np
    from PIL import Image

    folder = require_shared_data() / "videos" / "bedroom"
    paths = sorted(folder.glob("*.jpg"))[:18]
    return [np.asarray(Image.open(p).convert("RGB").resize((480, 270))) for p in paths]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `masklet ARGV`; argparse's exits (help, usage errors) included."""
    from masklet.cli import main

    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def davis_frame(seq: str, index: int):
    """(RGB frame [H, W, 3] uint8, ground-truth mask [H, W] bool) of a DAVIS-2016 sequence."""
    import numpy as np
    from PIL import Image

    root = require_shared_data() / "davis2016-val"
    frame = np.asarray(Image.open(root / "JPEGImages" / "480p" / seq / f"{index:05d}.jpg").convert("RGB"))
    mask = np.asarray(Image.open(root / "Annotations" / "480p" / seq / f"{index:05d}.png").convert("L")) > 127
    return frame, mask
