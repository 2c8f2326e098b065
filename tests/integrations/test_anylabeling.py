"""`masklet export --format anylabeling / x-anylabeling` checked with the real AnyLabeling
package (PyPI `anylabeling`, run headless): its model class loads the exported config.yaml as a
SAM 2 model, and its own SAM 2 ONNX code gives Masklet's masks for a click, a box and a box with
a negative click on a real photo; its app path outlines the object.

X-AnyLabeling cannot be installed beside Masklet (its PyPI release pins numpy <= 1.26.4,
onnx 1.13.1 and onnxruntime 1.16.0), but its SAM 2 loader is AnyLabeling's code without the
BGR -> RGB conversion before the encoder; handing AnyLabeling's loader a BGR image therefore
gives the encoder R, G, B planes exactly as X-AnyLabeling does, and that is how its export is
run here."""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml
from conftest import require_shared_data
from conftest import run_cli as run

import masklet
from masklet.cli import main as cli_main
from masklet.export import ExportError, export_anylabeling

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
loader = pytest.importorskip(
    "anylabeling.services.auto_labeling.segment_anything",
    reason="the AnyLabeling export is tested with AnyLabeling (pip install 'masklet[anylabeling]'; its PyQt6 "
    "needs the system's libGL, libEGL, fontconfig and xkbcommon)",
)
cv2 = pytest.importorskip("cv2")
from anylabeling.services.auto_labeling.sam2_onnx import SegmentAnything2ONNX  # noqa: E402

MODEL = "masklet-nano"
FRAME = "davis2016-val/JPEGImages/480p/blackswan/00000.jpg"
CLICK = [331, 311]  # on the swan
BOX = [127, 73, 509, 384]  # around it (its DAVIS mask's bounds)
WATER = [137, 374]  # a negative click inside the box
# AnyLabeling squashes the 8-bit image with cv2.resize, which does not antialias when it
# shrinks; Masklet (as SAM 2) resizes with antialiasing. Shrinking the 854 x 480 frame to
# masklet-nano's 256 x 256 the encoders see different pixels, and the masks differ along their
# edges: IoU 0.975 (click), 0.979 (box), 0.982 (box and negative click) measured.
IOU_MIN = 0.95
LOGIT_TOLERANCE = 1e-3  # fp32 onnxruntime against torch on the same pixels


@pytest.fixture(scope="module")
def photo():
    """(path, RGB array) of a real photo, decoded by OpenCV as the tool decodes it."""
    path = require_shared_data() / FRAME
    return path, cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def predictor(photo):
    predictor = masklet.ImagePredictor(masklet.load_model(MODEL))
    predictor.set_image(photo[1])
    return predictor


def tool_model(config_path):
    """AnyLabeling's SAM model class loaded from the config as its model manager does."""
    config = yaml.safe_load(config_path.read_text())
    config["config_file"] = str(config_path)
    return loader.SegmentAnything(config, on_message=print)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """{tool: config.yaml} written by the CLI for both tools."""
    configs = {}
    for tool in ("anylabeling", "x-anylabeling"):
        folder = tmp_path_factory.mktemp("export") / tool
        assert cli_main(["export", "--format", tool, MODEL, str(folder)]) == 0
        configs[tool] = folder / "config.yaml"
    return configs


def masklet_predict(predictor, marks) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Masklet's (masks, IoUs, low-res logits, multimask?) for AnyLabeling marks: three
    candidates for a lone click, one mask otherwise (as `masklet segment` and the export)."""
    clicks = [m for m in marks if m["type"] == "point"]
    boxes = [m["data"] for m in marks if m["type"] == "rectangle"]
    multimask = len(marks) == 1 and bool(clicks)
    masks, ious, low_res = predictor.predict(
        point_coords=np.array([m["data"] for m in clicks]) if clicks else None,
        point_labels=np.array([m["label"] for m in clicks]) if clicks else None,
        box=np.array(boxes[0]) if boxes else None, multimask_output=multimask,
    )
    return masks, ious, low_res, multimask


def masklet_mask(predictor, marks) -> np.ndarray:
    """The mask AnyLabeling would keep from Masklet's: the one of the highest predicted IoU."""
    masks, ious, _, _ = masklet_predict(predictor, marks)
    return masks[int(np.argmax(ious))]


def scaled(marks, sx: float, sy: float) -> list[dict]:
    """Marks with x scaled by sx and y by sy."""
    return [{**m, "data": [v * (sx if i % 2 == 0 else sy) for i, v in enumerate(m["data"])]} for m in marks]


def raw_decoder_outputs(model, embedding, marks, monkeypatch) -> list[np.ndarray]:
    """The tool's decoder outputs for marks, as its session returns them to its own reader."""
    received = []
    read = model.decoder.process_output

    def keep(outputs):
        received.append(outputs)
        return read(outputs)

    monkeypatch.setattr(model.decoder, "process_output", keep)
    model.predict_masks(embedding, marks)
    return received[0]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


PROMPTS = {
    "click": [{"type": "point", "data": CLICK, "label": 1}],
    "box": [{"type": "rectangle", "data": BOX}],
    "box and negative click": [{"type": "rectangle", "data": BOX}, {"type": "point", "data": WATER, "label": 0}],
}


def test_config_is_a_sam2_model_for_anylabeling(exports):
    config = yaml.safe_load(exports["anylabeling"].read_text())
    size = masklet.load_model(MODEL).config.image_size
    assert config["type"] == "segment_anything" and config["name"] == MODEL  # the types its custom-model loader takes
    assert (config["encoder_model_path"], config["decoder_model_path"]) == ("image_encoder.onnx", "prompt_decoder.onnx")
    assert config["input_size"] == config["max_width"] == config["max_height"] == size
    assert max(config["masklet"]["max_abs_diff_on_examples"].values()) <= LOGIT_TOLERANCE
    assert yaml.safe_load(exports["x-anylabeling"].read_text())["type"] == "segment_anything_2"
    model = tool_model(exports["anylabeling"])
    assert isinstance(model.model, SegmentAnything2ONNX)  # told apart from SAM 1 by the decoder's inputs
    assert model.model.encoder.input_shape == [1, 3, size, size]
    assert model.model.decoder.input_names == [
        "image_embed", "high_res_feats_0", "high_res_feats_1", "point_coords", "point_labels", "mask_input", "has_mask_input"
    ]


@pytest.mark.parametrize("tool", ["anylabeling", "x-anylabeling"])
@pytest.mark.parametrize("prompt", list(PROMPTS))
def test_tool_masks_are_masklets(exports, photo, predictor, tool, prompt):
    model = tool_model(exports[tool]).model
    image = photo[1] if tool == "anylabeling" else cv2.cvtColor(photo[1], cv2.COLOR_RGB2BGR)  # see the module docstring
    logits = model.predict_masks(model.encode(image), PROMPTS[prompt])  # [1, 1, H, W], as the app thresholds it
    ours = masklet_mask(predictor, PROMPTS[prompt])
    theirs = logits[0, 0] > 0
    assert theirs.shape == ours.shape and ours.sum() > 1000
    assert iou(theirs, ours) >= IOU_MIN, iou(theirs, ours)


@pytest.mark.parametrize("prompt", list(PROMPTS))
def test_decoder_gives_masklets_logits_on_the_same_pixels(exports, photo, prompt, monkeypatch):
    """With the photo squashed to the encoder's size beforehand, the tool and Masklet see the
    same pixels: the decoder's raw outputs, as AnyLabeling's own code prepares and receives
    them, are the image predictor's low-res logits and IoUs to fp32 precision (measured: at
    most 7e-6 apart, the thresholded masks equal)."""
    model = tool_model(exports["anylabeling"]).model
    size = model.encoder.input_width
    squashed = cv2.resize(photo[1], (size, size))
    height, width = photo[1].shape[:2]
    marks = scaled(PROMPTS[prompt], size / width, size / height)
    masks, scores = raw_decoder_outputs(model, model.encode(squashed), marks, monkeypatch)  # [1, 3, S/4, S/4], [1, 3]
    predictor = masklet.ImagePredictor(masklet.load_model(MODEL))
    predictor.set_image(squashed)
    _, ious, low_res, multimask = masklet_predict(predictor, marks)
    if not multimask:  # the single-mask output in all three slots
        low_res, ious = np.repeat(low_res, 3, axis=0), np.repeat(ious, 3)
    assert masks.shape == (1, *low_res.shape)
    assert np.abs(np.clip(masks[0], -32, 32) - low_res).max() <= LOGIT_TOLERANCE  # Masklet clamps its low-res logits
    assert np.abs(scores[0] - ious).max() <= LOGIT_TOLERANCE


def test_app_outlines_the_object(exports, photo, predictor):
    """The app's own path: predict_shapes reads the file, embeds, decodes and outlines the mask."""
    model = tool_model(exports["anylabeling"])
    model.set_auto_labeling_marks(PROMPTS["box"])
    shapes = model.predict_shapes(image=object(), filename=str(photo[0])).shapes
    assert shapes and all(shape.shape_type == "polygon" for shape in shapes)
    outlined = np.zeros(photo[1].shape[:2], np.uint8)
    cv2.fillPoly(outlined, [np.array([[p.x(), p.y()] for p in shape.points], np.int32) for shape in shapes], 1)
    assert iou(outlined.astype(bool), masklet_mask(predictor, PROMPTS["box"])) > 0.9  # 0.963 measured (polygons simplify)


def test_export_errors(capsys, tmp_path):
    with pytest.raises(ExportError, match="choose one of anylabeling, x-anylabeling"):
        export_anylabeling(masklet.load_model(MODEL), tmp_path / "out", tool="labelme")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    code, _, err = run(capsys, "export", "--format", "anylabeling", MODEL, tmp_path / "full")
    assert code != 0 and "not an empty folder" in err
