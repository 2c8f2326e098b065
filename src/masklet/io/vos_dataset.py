"""Semi-supervised VOS datasets on disk.

Layouts (frames and annotations pair up by file stem, e.g. `00005.jpg` / `00005.png`):
  DAVIS        `<root>/JPEGImages/480p/<seq>/*.jpg`, `<root>/Annotations/480p/<seq>/*.png`
  YouTube-VOS  `<root>/JPEGImages/<video>/*.jpg`, `<root>/Annotations/<video>/*.png`; the
               annotations may be sparse (every 5th frame) and objects may first appear on a
               later annotated frame. A `meta.json` is not needed: objects are read from the
               annotation PNGs.
Annotations are label maps (object id as value, 0 background, 255 void); DAVIS-2016
grayscale 0/255 annotations, where 255 is the only non-zero value, are one object with id 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from masklet.io.davis import VOID_ID, read_davis_png
from masklet.io.image import IMAGE_SUFFIXES

SINGLE_OBJECT_ID = 1


@dataclass(frozen=True)
class ObjectPrompt:
    """An object's mask on the frame where it is first annotated."""

    frame_idx: int
    mask: np.ndarray  # [H, W] bool


@dataclass(frozen=True)
class VosSequence:
    name: str
    frames: list[Path]  # the video's frames in order
    annotations: dict[int, Path]  # frame index -> annotation PNG (sparse in YouTube-VOS)

    def first_frames(self, count: int | None) -> VosSequence:
        """The sequence cut to its first `count` frames (all when None)."""
        if count is None:
            return self
        if count < 1:
            raise ValueError(f"max_frames must be at least 1, got {count}")
        kept = {i: p for i, p in self.annotations.items() if i < count}
        if not kept:
            raise ValueError(f"sequence {self.name!r}: none of its first {count} frames is annotated")
        return replace(self, frames=self.frames[:count], annotations=kept)

    def frame_size(self) -> tuple[int, int]:
        """(height, width) of the annotations."""
        first = self.annotations[min(self.annotations)]
        return read_davis_png(first).shape

    def object_prompts(self, later_objects: bool = False) -> dict[int, ObjectPrompt]:
        """Object id -> its mask on its first annotated frame: the objects of the first
        annotated frame, plus with `later_objects` those that first appear on later ones."""
        first_seen: dict[int, tuple[int, np.ndarray]] = {}
        for frame_idx in sorted(self.annotations):
            labels = read_davis_png(self.annotations[frame_idx])
            for label in np.unique(labels).tolist():
                if label != 0 and label not in first_seen:
                    first_seen[label] = (frame_idx, labels)
        if set(first_seen) == {VOID_ID}:
            frame_idx, labels = first_seen[VOID_ID]
            first_seen = {SINGLE_OBJECT_ID: (frame_idx, labels == VOID_ID)}
        else:
            first_seen.pop(VOID_ID, None)
            first_seen = {obj: (t, labels == obj) for obj, (t, labels) in first_seen.items()}
        start = min(self.annotations)
        return {
            obj: ObjectPrompt(frame_idx, mask)
            for obj, (frame_idx, mask) in sorted(first_seen.items())
            if later_objects or frame_idx == start
        }


@dataclass(frozen=True)
class VosDataset:
    root: Path
    image_root: Path
    annotation_root: Path

    def sequence_names(self) -> list[str]:
        return sorted(p.name for p in self.annotation_root.iterdir() if p.is_dir())

    def sequence(self, name: str) -> VosSequence:
        image_dir, annotation_dir = self.image_root / name, self.annotation_root / name
        for folder, what in ((image_dir, "frames"), (annotation_dir, "annotations")):
            if not folder.is_dir():
                raise ValueError(f"sequence {name!r}: no {what} folder {folder}")
        frames = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not frames:
            raise ValueError(f"sequence {name!r}: no frames ({', '.join(sorted(IMAGE_SUFFIXES))}) in {image_dir}")
        index_of = {p.stem: i for i, p in enumerate(frames)}
        annotations = {}
        for png in sorted(annotation_dir.glob("*.png")):
            if png.stem not in index_of:
                raise ValueError(f"{png}: annotation of a frame that is not in {image_dir}")
            annotations[index_of[png.stem]] = png
        if not annotations:
            raise ValueError(f"sequence {name!r}: no annotation PNGs in {annotation_dir}")
        return VosSequence(name, frames, annotations)


def open_vos_dataset(root: str | Path) -> VosDataset:
    """A DAVIS (`JPEGImages/480p`, `Annotations/480p`) or YouTube-VOS (`JPEGImages`,
    `Annotations`) dataset folder."""
    root = Path(root)
    for level in ("480p", ""):
        image_root, annotation_root = root / "JPEGImages" / level, root / "Annotations" / level
        if image_root.is_dir() and annotation_root.is_dir():
            return VosDataset(root, image_root, annotation_root)
    raise ValueError(
        f"{root} is not a VOS dataset: expected JPEGImages/480p/<seq>/ and Annotations/480p/<seq>/ "
        "(DAVIS) or JPEGImages/<video>/ and Annotations/<video>/ (YouTube-VOS)"
    )
