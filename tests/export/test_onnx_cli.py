"""`masklet export --format onnx`, and `masklet track` / `segment` with `--backend onnx` or
`openvino` on a tiny seeded model (float16 weights differ from float32 ones there, unlike the
bundled model's)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import micro_config, require_shared_data, seeded_model, visible_objects
from conftest import run_cli as run
from onnx_helpers import EXPORT_BACKENDS, LOGIT_TOLERANCE
from PIL import Image

import masklet
from masklet.cli import main as cli_main
from masklet.io import read_davis_png


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "micro.pt"
    masklet.save_model(visible_objects(seeded_model(micro_config(128))), path)
    return path


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory):
    """{weights: export folder} for float32 and float16 weights."""
    folders = {}
    for weights in ("float32", "float16"):
        folder = tmp_path_factory.mktemp("onnx") / weights
        code = cli_main(["export", "--format", "onnx", str(checkpoint), str(folder), "--weights", weights])
        assert code == 0
        folders[weights] = folder
    return folders


def test_export_writes_graphs_and_manifest(exported):
    manifests = {w: json.loads((f / "manifest.json").read_text()) for w, f in exported.items()}
    full = manifests["float32"]
    assert full["format"] == "masklet-onnx" and full["opset"] == 17
    assert full["model"]["config"]["image_size"] == 128
    assert set(full["graphs"]) == {
        "image_encoder", "prompt_decoder", "mask_decoder", "mask_prompt", "memory_encoder", "memory_attention", "pointer_position"
    }
    attention = full["graphs"]["memory_attention"]
    assert attention["inputs"]["memory"]["shape"] == ["objects", "memory_tokens", 64]
    assert attention["inputs"]["obj_ptrs"]["shape"] == ["objects", "pointer_tokens", 64]
    for name, graph in full["graphs"].items():
        assert graph["max_abs_diff_on_examples"] <= LOGIT_TOLERANCE, name
        half = manifests["float16"]["graphs"][name]
        assert half["max_abs_diff_on_examples"] < 0.1, name
        if name == "image_encoder":
            assert 0 < half["max_abs_diff_on_examples"]  # the weights really are rounded
            size32 = (exported["float32"] / graph["file"]).stat().st_size
            assert (exported["float16"] / graph["file"]).stat().st_size < 0.6 * size32


def test_export_errors(capsys, checkpoint, exported, tmp_path):
    code, _, err = run(capsys, "export", "--format", "onnx", checkpoint, exported["float32"])
    assert code == 2 and "not an empty folder" in err
    code, _, err = run(capsys, "export", "--format", "onnx", checkpoint, tmp_path / "x", "--opset", 13)
    assert code == 2 and "opset 13 cannot be exported: use 17..20" in err
    code, _, err = run(capsys, "export", checkpoint, tmp_path / "y")
    assert code == 2 and "--format" in err
    code, out, _ = run(capsys, "export", "--help")
    assert code == 0 and "memory_attention" in out


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
def test_track_with_exported_backend_matches_torch(capsys, tmp_path, checkpoint, exported, backend):
    video = require_shared_data() / "videos" / "bedroom"
    prompts = ["--max-frames", 3, "--obj", 1, "--point", "480,270", "--obj", 2, "--box", "600,100,900,500"]
    outputs = {}
    for side, model in (("torch", checkpoint), (backend, exported["float32"])):
        outputs[side] = tmp_path / side
        code, _, err = run(capsys, "track", video, *prompts, "--output", outputs[side], "--model", model, "--backend", side)
        assert code == 0, err
    pngs = sorted(p.name for p in outputs["torch"].iterdir())
    assert len(pngs) == 3 and pngs == sorted(p.name for p in outputs[backend].iterdir())
    for name in pngs:
        torch_labels, exported_labels = (read_davis_png(outputs[b] / name) for b in ("torch", backend))
        assert np.mean(torch_labels == exported_labels) >= 0.99


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
def test_track_backend_errors(capsys, tmp_path, checkpoint, backend):
    video = require_shared_data() / "videos" / "bedroom"
    args = ["track", video, "--obj", 1, "--point", "480,270", "--output", tmp_path / "o", "--backend", backend]
    code, _, err = run(capsys, *args)
    assert code == 2 and f"--backend {backend} needs --model OUT/" in err
    code, _, err = run(capsys, *args, "--model", checkpoint)
    assert code == 2 and "masklet export --format onnx" in err
    code, _, err = run(capsys, *args, "--model", checkpoint, "--dtype", "float16")
    assert code == 2 and "cpu in float32" in err


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
def test_segment_with_exported_backend_matches_torch(capsys, tmp_path, checkpoint, exported, backend):
    image = require_shared_data() / "images" / "groceries.jpg"
    masks = {}
    for side, model in (("torch", checkpoint), (backend, exported["float32"])):
        path = tmp_path / f"{side}.png"
        code, _, err = run(capsys, "segment", image, "--point", "400,300", "--box", "200,150,600,450",
                           "--output", path, "--model", model, "--backend", side)
        assert code == 0, err
        masks[side] = np.asarray(Image.open(path)) > 0
    assert np.mean(masks["torch"] == masks[backend]) >= 0.99
