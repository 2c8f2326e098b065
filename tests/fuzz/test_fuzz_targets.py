"""The fuzz targets (tools/fuzz) stay runnable, and every input the fuzzer found is refused with
a MaskletError that says why (regression inputs: small ones written here, the binary ones in
regressions/). `make fuzz` runs the fuzzer for minutes; this module runs each target on its seeds
and on a few hundred seeded mutations."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "fuzz"))

from mutation import mutate  # noqa: E402
from targets import TARGETS, run_input  # noqa: E402

from masklet.errors import MaskletError  # noqa: E402

REGRESSIONS = Path(__file__).parent / "regressions"
MUTATIONS = {"checkpoint": 6, "upload_video": 40, "upload_zip": 60, "video": 60}  # slower targets: fewer


def _read(target: str, data: bytes, workdir: Path) -> None:
    """The target's reader on `data`, with its exceptions (MaskletError included) passed on."""
    path = workdir / TARGETS[target].filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    TARGETS[target].read(path)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_read_without_error(name, tmp_path):
    seeds = TARGETS[name].seeds()
    assert seeds
    for number, seed in enumerate(seeds):
        work = tmp_path / str(number)
        work.mkdir()
        _read(name, seed, work)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_mutants_read_or_raise_a_masklet_error(name, tmp_path):
    rng = random.Random(f"masklet-{name}")
    seeds = TARGETS[name].seeds()
    for _ in range(MUTATIONS.get(name, 300)):
        run_input(TARGETS[name], mutate(rng.choice(seeds), rng), tmp_path)


def _json(data) -> bytes:
    return json.dumps(data).encode()


SAV = {"video_id": "v", "video_height": 2, "video_width": 2, "video_frame_count": 1, "masklet_id": [0]}
GRAPH_FILES = {"image_encoder": {"file": "x" * 300}}

# (target, input, what the error must say, or None where the input is valid and reads now): one
# per finding of the fuzzer, made small by hand.
FOUND = [
    ("rle", _json({"size": [2, 2], "counts": {"a": 1}}), "counts must be a string or a list"),  # was TypeError
    ("rle", _json({"size": "ab", "counts": "0"}), "'size' \\[H, W\\]"),  # was ValueError
    ("rle", _json({"size": [100000, 100000], "counts": [0, 10**10]}), "above 268435456 pixels"),  # was a 10 GB allocation
    ("rle", _json({"size": [2, 2], "counts": [1, -1, 4]}), "negative"),
    ("sav_json", _json({**SAV, "masklet": [[{"size": [3, 3], "counts": "9"}]]}), "not of the video's size"),
    ("sav_json", _json({**SAV, "masklet": {"a": 1}}), "one RLE per object"),  # was TypeError
    ("coco_json", b"[]", "top level is a list"),  # was AttributeError
    ("coco_json", _json({"images": [{"id": 1, "file_name": "a", "height": 10**6, "width": 10**6}]}), "above"),  # MemoryError
    ("coco_json", _json({"images": [{"id": 1, "file_name": "a", "height": 4, "width": 4}],
                         "annotations": [{"image_id": 1, "category_id": 1, "segmentation": [[0, 0, 3, float("nan"), 3, 3]]}]}),
     "not a finite number"),  # was IndexError
    ("coco_json", _json({"images": [{"id": 1, "file_name": "a", "height": 4, "width": 4}],
                         "annotations": [{"image_id": 1, "category_id": 1, "segmentation": [[0, 0, 3]]}]}), "list of polygons"),
    ("yolo_labels", b"0 0.1 0.1 0.5 0.1 0.5 0.5\n\x80\n", "cannot read the label file"),  # was UnicodeDecodeError
    ("yolo_labels", b"0 0.1 0.1 0.5 inf 0.5 0.5\n", "finite"),
    ("csv_boxes", b"image,x1,y1,x2,y2,category\na.jpg,1\n", "fewer fields than the header"),  # was TypeError
    ("prompts", b'{"objects": ["\xff"]}', "not valid UTF-8 JSON"),  # was UnicodeDecodeError
    ("onnx_manifest", b"[1]", "top level is a list"),  # was AttributeError
    ("onnx_manifest", _json({"format": "masklet-onnx", "version": 2, "graphs": GRAPH_FILES, "model": {"config": {}}}),
     "missing image_encoder.onnx"),  # was OSError (file name too long)
    ("onnx_manifest", _json({"format": "masklet-onnx", "version": 2, "graphs": {"image_encoder": {"file": "a\u0000"}},
                             "model": {"config": {}}}), "missing image_encoder.onnx"),  # was ValueError (NUL)
    ("onnx_manifest", _json({"format": "masklet-onnx", "version": 2, "model": {"config": {"image_size": "big"}}}),
     "image_size must be int"),  # was ValueError / TypeError from SAM2Config
    ("onnx_manifest", _json({"format": "masklet-onnx", "version": 2, "model": {"config": {"d_model": 10**9}}}),
     "between 1 and 8192"),  # would build a network of 10**18 weights
    ("onnx_manifest", _json({"format": "masklet-onnx", "version": 2, "model": {"config": {"colour": 1}}}), "unknown SAM2Config fields"),
    ("rle", _json({"size": [1e308, 0], "counts": "0"}), "above 268435456 pixels"),  # was numpy's "dimension exceeded"
    ("sav_json", _json({**SAV, "masklet_id": [], "masklet": [[]]}), None),  # a frame without objects: np.stack failed
    ("coco_boxes", _json({"images": [], "annotations": [], "categories": [{"id": float("inf"), "name": "a"}]}),
     "not a COCO detection file"),  # was OverflowError
    ("coco_json", _json({"images": [{"id": 1, "file_name": "a", "height": 16384, "width": 16384}],
                         "annotations": [{"image_id": 1, "category_id": 1, "segmentation": [[0, 0, 1, 0, 1, 1]]}] * 9}),
     "decode to more than"),  # 9 masks of 268 M pixels each from a small file
    ("checkpoint", bytes([0, 4, 0, 9, 0]), "NaN or infinite"),  # NaN weights loaded silently before
    ("checkpoint", bytes([1, 3, 0, 9, 3]), "not floating-point"),  # int64 weights were cast silently
]


def _ids(case) -> str:
    return f"{case[0]}-{FOUND.index(case)}"


@pytest.mark.parametrize("case", FOUND, ids=_ids)
def test_found_inputs_raise_masklet_errors(case, tmp_path):
    target, data, message = case
    if message is None:  # reads now
        _read(target, data, tmp_path)
        return
    with pytest.raises(MaskletError, match=message):
        _read(target, data, tmp_path)


def test_rle_sizes_and_counts_may_be_numpy_integers():
    """The stricter checks still take what numpy-built RLEs hold (np.int64), as before them."""
    import numpy as np

    from masklet.io.rle import rle_decode

    mask = rle_decode({"size": [np.int64(2), np.int64(2)], "counts": [np.int64(1), np.int64(2), np.int64(1)]})
    assert mask.tolist() == [[False, True], [True, False]]


def test_yolo_labels_of_a_huge_image_are_refused_before_decoding(tmp_path):
    """Nine lines for a 16384 x 16384 image would decode to 2.4 G mask pixels."""
    from masklet.io.yolo import read_yolo_labels

    labels = tmp_path / "a.txt"
    labels.write_text("0 0.1 0.1 0.5 0.1 0.5 0.5\n" * 9)
    with pytest.raises(MaskletError, match="decode to more than"):
        read_yolo_labels(labels, 16384, 16384)


def test_manifest_json_keys_match_the_exporter():
    """The manifest regressions above are only meaningful while format / version are the real ones."""
    from masklet.exported.manifest import FORMAT, VERSION

    assert (FORMAT, VERSION) == ("masklet-onnx", 2)


@pytest.mark.parametrize("path", sorted(REGRESSIONS.iterdir()), ids=lambda p: p.stem)
def test_found_files_raise_masklet_errors(path, tmp_path):
    """Files the fuzzer made that escaped as other errors (named <target>-<what it was>.bin)."""
    target = path.stem.split("-")[0]
    with pytest.raises(MaskletError) as raised:
        _read(target, path.read_bytes(), tmp_path)
    assert str(raised.value).strip()
