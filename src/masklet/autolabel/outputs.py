"""The files a run writes, produced by masklet.io's writers.

A worker writes an item's files with the io writers into a private temporary folder and hands
them back as bytes (`files_written_by`), so any engine, on any machine, returns the same
content and the driver alone writes into the output folder. Layouts (OUT is --output):

  images, yolo   OUT/<image stem>.txt (YOLO segmentation, Ultralytics' layout) + OUT/classes.txt
  images, coco   OUT/annotations.json (RLE masks, the detections' categories and scores;
                 coco-polygons: polygon outlines instead of RLE)
  videos, sav    OUT/<video>.json (SA-V masklets on every frame, or every N-th as SA-V's own
                 files hold every 4th; `masklet mine` writes OUT/<video>_auto.json)
  videos, davis  OUT/<video>/<frame, 5 digits>.png (DAVIS palette label maps, objects 1, 2, ...)
  every run      OUT/report.txt (one line per problem) and OUT/.masklet-run/ (manifest, done items)
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from masklet.autolabel.images import AnnotatedImage
from masklet.autolabel.inputs import WorkItem
from masklet.autolabel.masklets import frame_stacks
from masklet.autolabel.videos import VideoMasklets
from masklet.io.atomic import write_text_atomic
from masklet.io.coco import CocoImage, CocoInstance, coco_dataset, write_coco_json
from masklet.io.davis import masks_to_label_map, write_davis_png
from masklet.io.sav import SavVideo, write_sav_json
from masklet.io.yolo import write_yolo_classes, write_yolo_labels

IMAGE_FORMATS = {
    "yolo": "a YOLO segmentation .txt per image and classes.txt (Ultralytics' layout)",
    "coco": "one COCO JSON, annotations.json, with RLE masks and the detections' categories",
    "coco-polygons": "annotations.json as coco, each mask as the polygon outlines of its pieces (holes filled)",
}
COCO_SEGMENTATIONS = {"coco": "rle", "coco-polygons": "polygons"}
VIDEO_FORMATS = {
    "sav": "one SA-V JSON per video (masklets as COCO RLE on every frame)",
    "davis": "a folder of DAVIS palette PNGs per video",
}
RUN_FOLDER = ".masklet-run"
REPORT = "report.txt"
COCO_FILE = "annotations.json"
CLASSES_FILE = "classes.txt"


def files_written_by(write: Callable[[Path], None]) -> dict[str, bytes]:
    """{path relative to a folder: content} of the files `write(folder)` writes into a new
    empty folder."""
    with tempfile.TemporaryDirectory(prefix="masklet-item-") as tmp:
        folder = Path(tmp)
        write(folder)
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def class_indices(categories: Mapping[int, str]) -> dict[int, int]:
    """Category id -> YOLO class index (position among the sorted ids)."""
    return {category: index for index, category in enumerate(sorted(categories))}


def coco_part_path(item: WorkItem) -> str:
    return f"{RUN_FOLDER}/parts/{item.id}.json"


def shard_files(form: str, item: WorkItem, annotated: Sequence[tuple[int, AnnotatedImage]],
                categories: Mapping[int, str]) -> dict[str, bytes]:
    """An image shard's files; `annotated` holds (position in the shard, image) of the images
    that could be read."""
    if form == "yolo":
        classes = class_indices(categories)

        def write(folder: Path) -> None:
            for _, image in annotated:
                ids = [classes[d.category_id] for d in image.detections]
                write_yolo_labels(folder / f"{image.path.stem}.txt", image.masks, ids)
        return files_written_by(write)
    images = [
        CocoImage(image.path.name, image.height, image.width,
                  [CocoInstance(m, d.category_id, s) for m, d, s in zip(image.masks, image.detections, image.scores())],
                  id=item.first_index + position + 1)
        for position, image in annotated
    ]
    return files_written_by(
        lambda folder: write_coco_json(folder / coco_part_path(item), images, categories, COCO_SEGMENTATIONS[form])
    )


def video_files(form: str, video: VideoMasklets, file_stem: str, attributes: dict, sav_every: int = 1) -> dict[str, bytes]:
    """One video's files: an SA-V JSON `<file_stem>.json` of every `sav_every`-th frame, or DAVIS
    PNGs of every frame in `<video>/`."""
    stacks = frame_stacks(video.masklets, video.num_frames, (video.height, video.width))
    if form == "sav":  # SA-V numbers masklets from 0
        sav = SavVideo.from_masks(video.name, stacks[::sav_every], range(len(video.masklets)), video.num_frames,
                                  attributes)
        return files_written_by(lambda folder: write_sav_json(folder / f"{file_stem}.json", sav))
    labels = range(1, len(video.masklets) + 1)  # DAVIS label maps number objects from 1

    def write(folder: Path) -> None:
        for t, stack in enumerate(stacks):
            write_davis_png(folder / video.name / f"{t:05d}.png", masks_to_label_map(stack, labels))
    return files_written_by(write)


def write_coco_annotations(output: Path, items: Sequence[WorkItem], categories: Mapping[int, str]) -> None:
    """OUT/annotations.json: the items' COCO parts joined in item order, annotations numbered
    1, 2, ... over the whole file."""
    merged = coco_dataset([], categories)
    for item in items:
        part_path = output / coco_part_path(item)
        if not part_path.is_file():
            continue
        part = json.loads(part_path.read_text(encoding="utf-8"))
        merged["images"] += part["images"]
        for annotation in part["annotations"]:
            merged["annotations"].append({**annotation, "id": len(merged["annotations"]) + 1})
    write_text_atomic(output / COCO_FILE, json.dumps(merged))


def finish_images(form: str, output: Path, items: Sequence[WorkItem], categories: Mapping[int, str]) -> None:
    """The files that join a run's image items: classes.txt (yolo) or annotations.json (coco)."""
    if form == "yolo":
        names = [categories[c] for c in sorted(categories)]
        if names:
            write_yolo_classes(output / CLASSES_FILE, names)
    else:
        write_coco_annotations(output, items, categories)


def write_report(output: Path, problems: Sequence[str]) -> Path:
    return write_text_atomic(output / REPORT, "".join(line + "\n" for line in problems))
