"""tools/mix_weights.py: interpolated and kept parameters, and its refusals, end to end on two
micro checkpoints."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
import torch
from conftest import micro_config, seeded_model

import masklet

TOOL = Path(__file__).resolve().parents[2] / "tools" / "mix_weights.py"


def run_tool(*args) -> None:
    argv = sys.argv
    sys.argv = [str(TOOL), *map(str, args)]
    try:
        runpy.run_path(str(TOOL), run_name="__main__")
    finally:
        sys.argv = argv


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mix")
    start, tuned = folder / "start.pt", folder / "tuned.pt"
    masklet.save_model(seeded_model(micro_config(), seed=1), start)
    masklet.save_model(seeded_model(micro_config(), seed=2), tuned)
    return start, tuned


def weights(path) -> dict:
    return masklet.load_model(path, progress=False).state_dict()


def test_interpolates_and_keeps_named_parts(checkpoints, tmp_path):
    start, tuned = checkpoints
    run_tool(start, tuned, "--output", tmp_path / "out.pt", "--alpha", "0.25", "--keep", "memory_encoder")
    a, b, out = weights(start), weights(tuned), weights(tmp_path / "out.pt")
    for name in out:
        expected = a[name] if name.startswith("memory_encoder") else 0.75 * a[name] + 0.25 * b[name]
        torch.testing.assert_close(out[name], expected, rtol=1e-6, atol=1e-6, msg=name)
    assert any(n.startswith("memory_encoder") for n in out) and not torch.equal(a["no_mem_embed"], b["no_mem_embed"])


def test_refuses_bad_alpha_unknown_prefix_and_other_configs(checkpoints, tmp_path):
    start, tuned = checkpoints
    with pytest.raises(SystemExit):
        run_tool(start, tuned, "--output", tmp_path / "x.pt", "--alpha", "1.5")
    with pytest.raises(SystemExit, match="name no parameter"):
        run_tool(start, tuned, "--output", tmp_path / "x.pt", "--keep", "memory_encodr")
    other = tmp_path / "other.pt"
    masklet.save_model(seeded_model(micro_config(128)), other)
    with pytest.raises(SystemExit, match="different configs"):
        run_tool(start, other, "--output", tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()
