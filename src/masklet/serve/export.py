"""Exports of a project's masks as files to download.

  coco  one COCO JSON: an image per frame (file name "<media>/<frame:05d>.jpg"), an RLE
        annotation per object whose mask is not empty (category id = object id)
  davis a zip of DAVIS palette PNGs, <media>/<frame:05d>.png (the label-map rule below)
  sav   a zip of SA-V JSON files, <media>.json, every frame annotated
  yolo  a zip of YOLO segmentation labels, labels/<media>/<frame:05d>.txt, and classes.txt
        (class k is the k-th object id in ascending order)
  mp4   a zip of overlay videos, <media>.mp4

Everything is built under a temporary name in the data folder's exports/ from names made
here (media names are sanitised when uploaded), then handed out and deleted.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from masklet.io.coco import CocoImage, CocoInstance, write_coco_json
from masklet.io.davis import masks_to_label_map, write_davis_png
from masklet.io.overlay import VideoOverlayWriter
from masklet.io.rle import rle_decode
from masklet.io.sav import SavVideo, write_sav_json
from masklet.io.yolo import write_yolo_classes, write_yolo_labels
from masklet.serve.datadir import DataDir
from masklet.serve.frames import FrameStore
from masklet.serve.storage.records import Media, StoredMask

FORMATS = ("coco", "davis", "sav", "yolo", "mp4")
DEFAULT_FPS = 24.0


@dataclass(frozen=True)
class MediaMasks:
    """One media's objects (ids and names) and their masks as shown."""

    media: Media
    names: dict[int, str]  # obj_id -> name, ascending ids
    masks: dict[tuple[int, int], StoredMask]  # (obj_id, frame) -> mask

    @property
    def obj_ids(self) -> list[int]:
        return list(self.names)

    def frame(self, frame_idx: int) -> np.ndarray:
        """bool [objects, H, W] on a frame (empty where an object has no mask)."""
        size = [self.media.height, self.media.width]
        out = np.zeros((len(self.names), *size), bool)
        for row, obj_id in enumerate(self.names):
            stored = self.masks.get((obj_id, frame_idx))
            if stored is not None:
                out[row] = rle_decode({"size": size, "counts": stored.counts})
        return out


@dataclass(frozen=True)
class ExportFile:
    path: Path
    filename: str  # what the download is called
    media_type: str


def _coco(items: list[MediaMasks], path: Path) -> None:
    images, categories = [], {}
    for item in items:
        for obj_id, name in item.names.items():
            categories.setdefault(obj_id, name)
        for t in range(item.media.num_frames):
            masks = item.frame(t)
            instances = [CocoInstance(m, obj_id) for obj_id, m in zip(item.obj_ids, masks) if m.any()]
            images.append(CocoImage(f"{item.media.name}/{t:05d}.jpg", item.media.height, item.media.width,
                                    instances, id=len(images) + 1))
    write_coco_json(path, images, categories)


def _davis(items: list[MediaMasks], folder: Path, frames: FrameStore) -> None:
    for item in items:
        for t in range(item.media.num_frames):
            label_map = masks_to_label_map(item.frame(t), item.obj_ids, overlap="first")
            write_davis_png(folder / item.media.name / f"{t:05d}.png", label_map)


def _sav(items: list[MediaMasks], folder: Path, frames: FrameStore) -> None:
    for item in items:
        masks = [item.frame(t) for t in range(item.media.num_frames)]
        video = SavVideo.from_masks(item.media.name, masks, item.obj_ids, item.media.num_frames)
        write_sav_json(folder / f"{item.media.name}.json", video)


def _yolo(items: list[MediaMasks], folder: Path, frames: FrameStore) -> None:
    ids = sorted({obj_id for item in items for obj_id in item.obj_ids})
    names = {obj_id: name for item in reversed(items) for obj_id, name in item.names.items()}
    write_yolo_classes(folder / "classes.txt", [names[i] for i in ids])
    for item in items:
        classes = [ids.index(obj_id) for obj_id in item.obj_ids]
        for t in range(item.media.num_frames):
            write_yolo_labels(folder / "labels" / item.media.name / f"{t:05d}.txt", item.frame(t), classes)


def _mp4(items: list[MediaMasks], folder: Path, frames: FrameStore) -> None:
    for item in items:
        media = item.media
        with VideoOverlayWriter(folder / f"{media.name}.mp4", fps=media.fps or DEFAULT_FPS,
                                size=(media.width, media.height)) as writer:
            for t in range(media.num_frames):
                writer.write(frames.rgb(media, t), item.frame(t), item.obj_ids)


FOLDER_WRITERS: dict[str, Callable[[list[MediaMasks], Path, FrameStore], None]] = {
    "davis": _davis, "sav": _sav, "yolo": _yolo, "mp4": _mp4,
}


def zip_folder(folder: Path, path: Path) -> None:
    """Zip the files under `folder` (names relative to it; links are not followed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and not file.is_symlink():
                archive.write(file, file.relative_to(folder).as_posix())


def export(items: list[MediaMasks], form: str, base_name: str, data: DataDir, frames: FrameStore) -> ExportFile:
    """Write `items` in format `form` under exports/; the caller deletes the file when sent."""
    if form == "coco":
        path = data.new_export_path(".json")
        _coco(items, path)
        return ExportFile(path, f"{base_name}.coco.json", "application/json")
    folder = data.new_export_path("")
    folder.mkdir()
    try:
        FOLDER_WRITERS[form](items, folder, frames)
        path = data.new_export_path(".zip")
        zip_folder(folder, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return ExportFile(path, f"{base_name}.{form}.zip", "application/zip")
