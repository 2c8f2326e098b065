"""Fuzz targets: one per reader of files that users hand to Masklet.

A target writes the fuzzer's bytes where its reader expects a file and reads it the way
Masklet does. The contract under test: every input either reads, or raises a `MaskletError`
whose message says what was wrong. Any other exception (a KeyError from deep inside, a
MemoryError from an unbounded allocation, a crash of a C library) is a finding; `run.py`
also turns a hang (past its per-input time limit) into one.

Seeds are small valid files made here (so the targets work in a bare clone) plus real files
from ../shared/data where it exists; they are never committed.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from masklet.errors import MaskletError

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
SIZE = (48, 64)  # (H, W) of the synthetic seeds


@dataclass(frozen=True)
class Target:
    name: str
    filename: str  # the input's bytes are written to workdir / filename
    read: Callable[[Path], object]  # reads that file as Masklet does
    seeds: Callable[[], list[bytes]]


def run_input(target: Target, data: bytes, workdir: Path) -> None:
    """Read one input; returns when it read or was refused with a MaskletError."""
    path = workdir / target.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        target.read(path)
    except MaskletError as e:
        if not str(e).strip():
            raise AssertionError(f"{type(e).__name__} without a message") from e


# ------------------------------------------------------------------ synthetic material


def _mask() -> np.ndarray:
    mask = np.zeros(SIZE, bool)
    mask[10:30, 20:50] = True
    mask[35:40, 5:9] = True
    return mask


def _png(array: np.ndarray, mode: str | None = None, palette: bool = False) -> bytes:
    image = Image.fromarray(array, mode) if mode else Image.fromarray(array)
    if palette:
        image = image.convert("P")
        image.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * 759)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (*SIZE, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _json(data: object) -> bytes:
    return json.dumps(data).encode()


def _shared(relative: str, limit: int = 200_000) -> list[bytes]:
    """A real file from ../shared/data as a seed, when it is there and small enough."""
    path = SHARED / relative
    return [path.read_bytes()] if path.is_file() and path.stat().st_size <= limit else []


# ------------------------------------------------------------------ masks and annotations


def _read_rle(path: Path) -> None:
    from masklet.io.rle import rle_decode, rle_encode

    try:
        rle = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return  # not JSON: nothing reaches the decoder
    mask = rle_decode(rle)
    again = rle_decode(rle_encode(mask))
    if not np.array_equal(mask, again):
        raise AssertionError("RLE encode / decode round trip changed the mask")


def _rle_seeds() -> list[bytes]:
    from masklet.io.rle import rle_encode

    full = np.ones((3, 5), bool)
    return [_json(rle_encode(_mask())), _json(rle_encode(full)), _json({"size": [2, 2], "counts": [1, 2, 1]})]


def _read_sav(path: Path) -> None:
    from masklet.io.sav import read_sav_json

    video = read_sav_json(path)
    for index in range(video.num_annotated_frames):
        video.masks(index)


def _sav_seeds() -> list[bytes]:
    from masklet.io.sav import SavVideo, write_sav_json

    mask = _mask()
    video = SavVideo.from_masks("seed", [np.stack([mask, ~mask]), np.stack([~mask, mask])], [0, 1], frame_count=8)
    with tempfile.TemporaryDirectory() as folder:
        written = write_sav_json(Path(folder) / "seed.json", video).read_bytes()
    return [written, *_shared("sav-example/sav_000001_manual.json")]


def _read_coco(path: Path) -> None:
    from masklet.io.coco import read_coco_json

    read_coco_json(path)


def _coco_seeds() -> list[bytes]:
    from masklet.io.coco import CocoImage, CocoInstance, coco_dataset

    mask = _mask()
    image = CocoImage("a.jpg", *SIZE, id=1, instances=[CocoInstance(mask, 1, 0.9, 0), CocoInstance(~mask, 2, None, 0)])
    return [_json(coco_dataset([image], {1: "a", 2: "b"}, segmentation=form)) for form in ("rle", "polygons")]


def _read_yolo_labels(path: Path) -> None:
    from masklet.io.yolo import read_yolo_labels

    read_yolo_labels(path, *SIZE)


def _yolo_label_seeds() -> list[bytes]:
    from masklet.io.yolo import masks_to_yolo_polygons

    return ["\n".join(masks_to_yolo_polygons(_mask()[None], [3])).encode() + b"\n"]


def _read_davis_png(path: Path) -> None:
    from masklet.io.davis import read_davis_png

    for rule in ("labels", "binary"):
        read_davis_png(path, grey=rule)


def _davis_seeds() -> list[bytes]:
    labels = _mask().astype(np.uint8)
    labels[0:3, 0:3] = 2
    return [_png(labels, palette=True), _png(labels * 255, "L"), *_shared("davis2016-val/Annotations/480p/bmx-trees/00000.png")]


def _read_image(path: Path) -> None:
    from masklet.io.image import image_size, read_grey, read_rgb

    image_size(path)
    read_rgb(path)
    read_grey(path)
    read_rgb(path, draft_size=(16, 16))


def _image_seeds() -> list[bytes]:
    rgba = np.zeros((*SIZE, 4), np.uint8)
    return [_jpeg(), _png(rgba), _png(_mask().astype(np.uint8) * 255, "L")]


# ------------------------------------------------------------------ detections and prompts


def _read_coco_boxes(path: Path) -> None:
    from masklet.autolabel.box_files import read_coco_boxes

    table = read_coco_boxes(path)
    for name in list(table.boxes):
        table.detect(np.zeros((*SIZE, 3), np.uint8), name)


def _coco_box_seeds() -> list[bytes]:
    return [_json({
        "images": [{"id": 1, "file_name": "a.jpg", "height": SIZE[0], "width": SIZE[1]}],
        "annotations": [{"id": 1, "image_id": 1, "bbox": [3, 4, 20, 10], "category_id": 1, "score": 0.5},
                        {"id": 2, "image_id": 1, "bbox": [0, 0, 5, 5], "category_id": 2}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    })]


def _read_csv_boxes(path: Path) -> None:
    from masklet.autolabel.box_files import read_csv_boxes

    read_csv_boxes(path)


def _csv_box_seeds() -> list[bytes]:
    return [b"image,x1,y1,x2,y2,category,score\na.jpg,1,2,30,40,cat,0.9\nb/c.jpg,0,0,5,5,dog,\n"]


def _read_yolo_boxes(path: Path) -> None:
    from masklet.autolabel.box_files import YoloBoxFolder

    (path.parent / "classes.txt").write_text("cat\ndog\n")
    YoloBoxFolder.open(path.parent).detect(np.zeros((*SIZE, 3), np.uint8), path.stem)


def _yolo_box_seeds() -> list[bytes]:
    return [b"0 0.5 0.5 0.25 0.5\n1 0.1 0.1 0.05 0.05 0.7\n"]


def _read_prompts(path: Path) -> None:
    from masklet.cli.prompts import PromptSet, prompts_from_file

    prompts = PromptSet()
    prompts_from_file(path, prompts)
    prompts.ordered()


def _prompt_seeds() -> list[bytes]:
    return [_json({"objects": [
        {"id": 1, "frame": 0, "points": [[10, 12], [30, 20]], "labels": [1, 0]},
        {"id": 2, "frame": 3, "box": [1, 2, 30, 40]},
        {"id": 3, "mask": "mask.png"},
    ]})]


# ------------------------------------------------------------------ videos and uploads


def _read_video(path: Path) -> None:
    from masklet.io.video import open_video

    with open_video(path, prefetch=0) as video:
        count = len(video)
        for _ in video:
            pass
        if count:
            video[count - 1]
            video[0]


def _tiny_mp4() -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height = SIZE[1], SIZE[0]
        stream.pix_fmt = "yuv420p"
        for t in range(6):
            frame = np.zeros((*SIZE, 3), np.uint8)
            frame[:, t * 8:(t + 1) * 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def _upload_limits():
    from masklet.serve.settings import UploadLimits

    return UploadLimits(max_bytes=4 << 20, max_frames=64, max_seconds=60.0, max_frame_pixels=1 << 20,
                        max_archive_files=64, max_archive_bytes=16 << 20)


def _ingest(path: Path, filename: str, content_type: str) -> None:
    from masklet.serve.datadir import DataDir
    from masklet.serve.ingest import UploadPart, ingest

    data = path.parent / "data"
    try:
        with path.open("rb") as file, DataDir(data) as folder:
            ingest([UploadPart(filename, content_type, file)], folder, _upload_limits())
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _read_upload_zip(path: Path) -> None:
    _ingest(path, "frames.zip", "application/zip")


def _zip_seeds() -> list[bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for t in range(3):
            archive.writestr(f"clip/{t:05d}.jpg", _jpeg(t))
    return [buffer.getvalue()]


def _read_upload_video(path: Path) -> None:
    _ingest(path, "clip.mp4", "video/mp4")


# ------------------------------------------------------------------ models


def _read_manifest(path: Path) -> None:
    from masklet.exported.manifest import EMBEDDINGS_FILE, GRAPHS, read_manifest

    for name in [*(f"{g}.onnx" for g in GRAPHS), EMBEDDINGS_FILE]:
        (path.parent / name).touch()
    read_manifest(path.parent)


def _manifest_seeds() -> list[bytes]:
    from masklet.config import get_config
    from masklet.exported.manifest import FORMAT, GRAPHS, VERSION

    config = get_config("sam2.1-hiera-tiny").to_dict()
    graphs = {g: {"file": f"{g}.onnx"} for g in GRAPHS}
    return [_json({"format": FORMAT, "version": VERSION, "graphs": graphs, "model": {"config": config}})]


def _read_checkpoint(path: Path) -> None:
    from checkpoints import load_recipe

    load_recipe(path)


def _checkpoint_seeds() -> list[bytes]:
    from checkpoints import seed_recipes

    return seed_recipes()


TARGETS = {t.name: t for t in [
    Target("rle", "mask.json", _read_rle, _rle_seeds),
    Target("sav_json", "video_manual.json", _read_sav, _sav_seeds),
    Target("coco_json", "instances.json", _read_coco, _coco_seeds),
    Target("yolo_labels", "labels/a.txt", _read_yolo_labels, _yolo_label_seeds),
    Target("davis_png", "00000.png", _read_davis_png, _davis_seeds),
    Target("image", "image.jpg", _read_image, _image_seeds),
    Target("coco_boxes", "boxes.json", _read_coco_boxes, _coco_box_seeds),
    Target("csv_boxes", "boxes.csv", _read_csv_boxes, _csv_box_seeds),
    Target("yolo_boxes", "yolo/a.txt", _read_yolo_boxes, _yolo_box_seeds),
    Target("prompts", "prompts.json", _read_prompts, _prompt_seeds),
    Target("video", "clip.mp4", _read_video, lambda: [_tiny_mp4()]),
    Target("upload_zip", "upload.zip", _read_upload_zip, _zip_seeds),
    Target("upload_video", "upload.mp4", _read_upload_video, lambda: [_tiny_mp4()]),
    Target("onnx_manifest", "export/manifest.json", _read_manifest, _manifest_seeds),
    Target("checkpoint", "recipe.bin", _read_checkpoint, _checkpoint_seeds),
]}
