"""int8 on the OpenVINO backend (`masklet quantize`, masklet.export.openvino_int8): masklet-nano's
exported image encoder quantized by NNCF on DAVIS frames of another sequence than the one
tracked, then the video predictor on the blackswan clip of test_onnx_backend close to the
float32 torch model; the folder keeps serving float32; the errors of a wrong load."""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import davis_frame, require_shared_data, run_cli
from onnx_clip import run_clip
from onnx_helpers import LOGIT_TOLERANCE, nano_export
from test_onnx_backend import clip_inputs, masks_iou, torch_outputs

import masklet
from masklet.errors import CheckpointError, OptionError
from masklet.predict.resize import video_frame_input

pytest.importorskip("openvino", reason="the OpenVINO tests need openvino (pip install 'masklet[openvino]')")
pytest.importorskip("nncf", reason="the OpenVINO int8 tests need nncf (pip install 'masklet[openvino-int8]')")

# Measured on masklet-nano (2-core Xeon with VNNI and AMX, nncf 3.4, OpenVINO 2026.4): the
# mask-prompted swan >= 0.987 on every frame of both passes, the clicked shore >= 0.939.
MASK_PROMPT_IOU_MIN = 0.95
CLICK_PROMPT_IOU_MIN = 0.85


def copy_of_export(tmp_path: Path) -> Path:
    folder = tmp_path / "nano"
    shutil.copytree(nano_export(), folder)
    return folder


@functools.lru_cache(maxsize=None)
def quantized_export() -> Path:
    """masklet-nano's export with its image encoder quantized on 8 frames of DAVIS 'dog'."""
    from masklet.export.openvino_int8 import quantize_export

    folder = Path(tempfile.mkdtemp(prefix="masklet-int8-")) / "nano"
    shutil.copytree(nano_export(), folder)
    quantize_export(folder, np.stack([davis_frame("dog", i)[0] for i in range(0, 40, 5)]))
    return folder


def test_quantized_folder_records_the_int8_graph_and_keeps_float32():
    folder = quantized_export()
    graphs = json.loads((folder / "manifest.json").read_text())["graphs"]
    int8 = graphs["image_encoder"]["int8"]
    assert int8["file"] == "image_encoder.int8.xml" and int8["frames"] == 8 and int8["tool"].startswith("nncf ")
    assert int8["overflow_fix"] == "enable"  # 7-bit weights: AVX2 without VNNI saturates 8-bit ones
    assert [n for n, g in graphs.items() if "int8" in g] == ["image_encoder"]
    float_bytes = (folder / graphs["image_encoder"]["file"]).stat().st_size
    assert (folder / "image_encoder.int8.bin").stat().st_size < 0.45 * float_bytes  # int8 weights, not float copies
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no scratch left behind
    xml = (folder / "image_encoder.int8.xml").read_text()
    assert "FakeQuantize" in xml or "u8" in xml or "i8" in xml


def test_int8_tracks_like_float32():
    inputs, expected = clip_inputs(), torch_outputs()
    model = masklet.load_model(quantized_export(), backend="openvino", dtype="int8")
    assert model.precision == "int8"
    assert model.graphs.path("image_encoder").name == "image_encoder.int8.xml"
    assert model.graphs.path("memory_attention").suffix == ".onnx"
    got = run_clip(model, inputs)
    for key, logits in got.items():
        swan, shore = masks_iou(logits, expected[key])
        assert swan >= MASK_PROMPT_IOU_MIN and shore >= CLICK_PROMPT_IOU_MIN, (key, swan, shore)
    # int8 is not float32: the logits move (else the int8 graph did not run).
    assert max(float(np.abs(got[k] - expected[k]).max()) for k in got) > 1e-2


def test_float32_loads_of_a_quantized_folder_run_the_float32_graph():
    openvino = masklet.load_model(quantized_export(), backend="openvino")
    onnx = masklet.load_model(quantized_export(), backend="onnx")
    assert openvino.graphs.path("image_encoder").suffix == ".onnx"
    images = video_frame_input(clip_inputs()["frames"][0], openvino.image_size)[None]
    features = [m.forward_image(images)["vision_features"] for m in (openvino, onnx)]
    assert np.abs(features[0] - features[1]).max() < LOGIT_TOLERANCE


def test_int8_load_without_quantized_graphs_says_how(tmp_path):
    with pytest.raises(OptionError, match="masklet quantize .* --calibration"):
        masklet.load_model(nano_export(), backend="openvino", dtype="int8")


def test_int8_load_with_a_missing_ir_file_says_so(tmp_path):
    folder = tmp_path / "nano"
    shutil.copytree(quantized_export(), folder)
    (folder / "image_encoder.int8.bin").unlink()
    with pytest.raises(CheckpointError, match="image_encoder graph 'image_encoder.int8.xml'.*missing"):
        masklet.load_model(folder, backend="openvino", dtype="int8")


def test_quantize_cli(tmp_path, capsys):
    folder = copy_of_export(tmp_path)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        shutil.copy(require_shared_data() / "davis2016-val" / "JPEGImages" / "480p" / "car-shadow" / f"{i:05d}.jpg", frames)
    code, out, err = run_cli(capsys, "quantize", folder, "--calibration", frames, "--frames", 2)
    assert code == 0, err
    assert "image_encoder.int8.xml" in out and "--backend openvino --dtype int8" in out
    assert json.loads((folder / "manifest.json").read_text())["graphs"]["image_encoder"]["int8"]["frames"] == 2


@pytest.mark.parametrize("args, message", [
    (["--calibration", "FOLDER", "--frames", "0"], "--frames must be at least 1"),
    (["--calibration", "/nonexistent/video.mp4"], "/nonexistent/video.mp4"),
])
def test_quantize_cli_errors(tmp_path, capsys, args, message):
    folder = copy_of_export(tmp_path)
    code, _, err = run_cli(capsys, "quantize", folder, *[str(folder) if a == "FOLDER" else a for a in args])
    assert code != 0 and message in err and "Traceback" not in err
    assert "int8" not in json.loads((folder / "manifest.json").read_text())["graphs"]["image_encoder"]


def test_quantize_cli_refuses_a_folder_that_is_not_an_export(tmp_path, capsys):
    code, _, err = run_cli(capsys, "quantize", tmp_path, "--calibration", tmp_path)
    assert code != 0 and "manifest.json" in err and "Traceback" not in err
