"""Detections read from files: the "boxes from file" detectors.

Each image or video frame has a key: an image's file stem (`dog.jpg` -> `dog`), a video frame's
`<video name>/<frame index, 5 digits>` (`blackswan/00003`). Box files name their images the same
way (any folder part before and suffix after are ignored):

  - COCO detection JSON (`read_coco_boxes`): `images` (id, file_name), `annotations` (image_id,
    bbox [x, y, w, h] in pixels, category_id, optional score) and `categories` (id, name);
  - a folder of YOLO detection `.txt` files (`YoloBoxFolder`): `<key>.txt` with lines
    `<class> cx cy w h [score]` in [0, 1] units, class names in `classes.txt` when present;
  - a CSV (`read_csv_boxes`) with a header `image,x1,y1,x2,y2,category[,score]`, pixels, the
    category a name (ids 1, 2, ... in sorted name order).

A file that cannot be parsed at all raises BoxFileError; a YOLO file is read when its image is
annotated, so a malformed one fails that image only.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from masklet.autolabel.detections import Detection
from masklet.errors import MaskletError

BOX_FORMATS = ("coco", "yolo", "csv")
CSV_COLUMNS = ("image", "x1", "y1", "x2", "y2", "category")


class BoxFileError(MaskletError, ValueError):
    """A box file that cannot be read."""


def frame_key(video: str, frame_idx: int) -> str:
    """The key of a video frame: `<video>/<frame index, 5 digits>`."""
    return f"{video}/{frame_idx:05d}"


def _keys_of(name: str) -> list[str]:
    """The keys an image name in a box file answers to: its stem, and `<folder>/<stem>`."""
    path = PurePosixPath(name.replace("\\", "/"))
    stem = path.stem
    return [stem] if path.parent.name == "" else [stem, f"{path.parent.name}/{stem}"]


def _frames_in(keys, video: str, num_frames: int) -> list[int]:
    """The frame indices below num_frames among keys `<video>/<digits>`."""
    prefix = f"{video}/"
    frames = {int(k[len(prefix):]) for k in keys if k.startswith(prefix) and k[len(prefix):].isdigit()}
    return sorted(f for f in frames if f < num_frames)


@dataclass
class TableBoxes:
    """Boxes in pixels read whole from one file (COCO JSON or CSV), by key."""

    boxes: dict[str, list[Detection]]
    categories: dict[int, str]

    def detect(self, image: np.ndarray, key: str) -> list[Detection]:
        return list(self.boxes.get(key, []))

    def keyframes(self, video: str, num_frames: int) -> list[int]:
        return _frames_in(self.boxes, video, num_frames)

    def add(self, name: str, detection: Detection) -> None:
        for key in _keys_of(name):
            self.boxes.setdefault(key, []).append(detection)


def read_coco_boxes(path: str | Path) -> TableBoxes:
    """A COCO detection JSON -> TableBoxes (bbox [x, y, w, h] becomes x1, y1, x2, y2)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        categories = {int(c["id"]): str(c["name"]) for c in data["categories"]}
        names = {int(img["id"]): str(img["file_name"]) for img in data["images"]}
        table = TableBoxes({}, categories)
        for number, ann in enumerate(data["annotations"]):
            x, y, w, h = (float(v) for v in ann["bbox"])
            name = names.get(int(ann["image_id"]))
            if name is None:
                raise ValueError(f"annotation {ann.get('id', number)} refers to unknown image {ann['image_id']}")
            category = int(ann["category_id"])
            if category not in categories:
                raise ValueError(f"annotation {ann.get('id', number)} has category {category}, not in categories")
            score = ann.get("score")
            table.add(name, Detection((x, y, x + w, y + h), category, None if score is None else float(score)))
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, OverflowError) as e:
        raise BoxFileError(
            f"{path}: not a COCO detection file ({e}); it needs images, annotations with bbox and categories"
        ) from None
    return table


def read_csv_boxes(path: str | Path) -> TableBoxes:
    """A CSV with columns image,x1,y1,x2,y2,category[,score] -> TableBoxes."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
            header = rows[0].keys() if rows else ()
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise BoxFileError(f"{path}: cannot read the CSV ({e})") from None
    missing = [c for c in CSV_COLUMNS if c not in header]
    if rows and missing:
        raise BoxFileError(f"{path}: the CSV header lacks {', '.join(missing)}; it needs {','.join(CSV_COLUMNS)}[,score]")
    short = [line for line, row in enumerate(rows, start=2) if any(row.get(c) is None for c in CSV_COLUMNS)]
    if short:
        raise BoxFileError(f"{path}:{short[0]}: the row has fewer fields than the header ({','.join(CSV_COLUMNS)}[,score])")
    names = sorted({row["category"] for row in rows})
    ids = {name: number for number, name in enumerate(names, start=1)}
    table = TableBoxes({}, {number: name for name, number in ids.items()})
    for line, row in enumerate(rows, start=2):
        try:
            box = tuple(float(row[c]) for c in ("x1", "y1", "x2", "y2"))
            score = float(row["score"]) if row.get("score") not in (None, "") else None
        except (TypeError, ValueError):
            raise BoxFileError(f"{path}:{line}: x1, y1, x2, y2 and score must be numbers, got {row}") from None
        table.add(row["image"], Detection(box, ids[row["category"]], score))
    return table


@dataclass
class YoloBoxFolder:
    """YOLO detection labels, `<folder>/<key>.txt`, read when their image is annotated."""

    folder: Path
    categories: dict[int, str] = field(default_factory=dict)

    @classmethod
    def open(cls, folder: str | Path) -> YoloBoxFolder:
        folder = Path(folder)
        if not folder.is_dir():
            raise BoxFileError(f"{folder}: YOLO boxes are a folder of <image stem>.txt files; no such folder")
        classes = folder / "classes.txt"
        categories: dict[int, str] = {}
        if classes.is_file():
            lines = classes.read_text(encoding="utf-8").splitlines()
            categories = {number: name.strip() for number, name in enumerate(lines) if name.strip()}
        else:  # the class ids in the labels, named class<N> (unreadable files fail their image later)
            for label in sorted(folder.rglob("*.txt")):
                for number in {line.split()[0] for line in _label_lines(label, strict=False) if line.split()}:
                    if number.isdigit():
                        categories.setdefault(int(number), f"class{number}")
            categories = dict(sorted(categories.items()))
        return cls(folder, categories)

    def detect(self, image: np.ndarray, key: str) -> list[Detection]:
        path = self.folder / f"{key}.txt"
        if not path.is_file():
            return []
        height, width = image.shape[:2]
        detections = []
        for number, line in enumerate(_label_lines(path), start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                if len(fields) not in (5, 6):
                    raise ValueError
                category, (cx, cy, w, h) = int(fields[0]), (float(v) for v in fields[1:5])
                score = float(fields[5]) if len(fields) == 6 else None
            except ValueError:
                raise BoxFileError(
                    f"{path}:{number}: expected '<class> cx cy w h [score]' (YOLO detection), got {line.strip()!r}"
                ) from None
            if category not in self.categories:
                raise BoxFileError(f"{path}:{number}: class {category} is not in {self.folder / 'classes.txt'}")
            box = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
            detections.append(Detection(box, category, score))
        return detections

    def keyframes(self, video: str, num_frames: int) -> list[int]:
        folder = self.folder / video
        keys = [f"{video}/{p.stem}" for p in folder.glob("*.txt")] if folder.is_dir() else []
        return _frames_in(keys, video, num_frames)


def _label_lines(path: Path, strict: bool = True) -> list[str]:
    """The lines of a label file; BoxFileError if it cannot be read (or [] unless `strict`)."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        if not strict:
            return []
        raise BoxFileError(f"{path}: cannot read the label file ({e})") from None


def open_box_file(path: str | Path, form: str) -> TableBoxes | YoloBoxFolder:
    """The boxes-from-file detector for `path` in format `form` (coco, yolo or csv)."""
    if form == "coco":
        return read_coco_boxes(path)
    if form == "csv":
        return read_csv_boxes(path)
    if form == "yolo":
        return YoloBoxFolder.open(path)
    raise BoxFileError(f"unknown box format {form!r}; use one of {', '.join(BOX_FORMATS)}")
