"""The videos and objects the simulated annotator works on.

A VOS dataset (DAVIS or YouTube-VOS layout, `masklet.io.vos_dataset`) gives one video per
sequence and one object per object id; a folder of images with masks (GrabCut's data_GT +
boundary_GT, or COCO_MVal-style img + gt) gives single-frame videos of one object. Void
pixels (label 255 in multi-object VOS annotations, GrabCut's 128 band) are neither errors nor
scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from masklet.eval.interactive import (
    image_mask_folders,
    image_paths,
    read_image_mask_folder,
)
from masklet.io.davis import VOID_ID, read_davis_png
from masklet.io.image import read_rgb
from masklet.io.vos_dataset import SINGLE_OBJECT_ID, VosSequence, open_vos_dataset


@dataclass(frozen=True)
class VideoObject:
    """One object's ground truth on the annotated frames of a video."""

    obj_id: int
    truth: dict[int, np.ndarray]  # annotated frame -> bool [H, W]
    void: dict[int, np.ndarray | None]  # annotated frame -> bool [H, W] pixels not scored, or None

    def visible_frames(self) -> list[int]:
        """Annotated frames where the object has scored pixels, in order."""
        return [t for t in sorted(self.truth) if self.area(t) > 0]

    def area(self, frame_idx: int) -> int:
        void = self.void[frame_idx]
        truth = self.truth[frame_idx]
        return int(truth.sum() if void is None else (truth & ~void).sum())


@dataclass(frozen=True)
class InteractiveVideo:
    name: str
    frames: np.ndarray  # [T, H, W, 3] uint8 RGB
    objects: list[VideoObject]


def video_names(root: str | Path, sequences: list[str] | None = None, limit: int | None = None) -> list[str]:
    """The videos of a dataset folder: the given sequences (each checked), else all (the first
    `limit`)."""
    available = [p.stem for p in image_paths(root)] if _is_image_folder(root) else open_vos_dataset(root).sequence_names()
    if not sequences:
        return available[:limit]
    missing = [name for name in sequences if name not in available]
    if missing:
        raise ValueError(f"{root}: no video named {missing}; it has {len(available)}, e.g. {available[:3]}")
    return list(sequences)


def read_videos(root: str | Path, names: list[str], max_frames: int | None = None) -> Iterator[InteractiveVideo]:
    """The named videos of a VOS dataset (cut to their first `max_frames` frames) or of an
    image folder (one frame each), read one at a time."""
    if _is_image_folder(root):
        wanted = set(names)
        for name, image, truth, ignore in read_image_mask_folder(root):
            if name in wanted:
                yield InteractiveVideo(name, image[None], [VideoObject(SINGLE_OBJECT_ID, {0: truth}, {0: ignore})])
        return
    dataset = open_vos_dataset(root)
    for name in names:
        yield read_vos_video(dataset.sequence(name).first_frames(max_frames))


def read_vos_video(sequence: VosSequence) -> InteractiveVideo:
    """Frames and per-object ground truth of a VOS sequence. A 0/255 annotation (DAVIS-2016)
    is one object without void; otherwise each label other than 0 and 255 is an object and
    255 is void."""
    labels = {t: read_davis_png(path) for t, path in sorted(sequence.annotations.items())}
    values = set().union(*(np.unique(v).tolist() for v in labels.values())) - {0}
    frames = np.stack([read_rgb(p) for p in sequence.frames])
    if values == {VOID_ID}:
        obj = VideoObject(SINGLE_OBJECT_ID, {t: v == VOID_ID for t, v in labels.items()}, dict.fromkeys(labels))
        return InteractiveVideo(sequence.name, frames, [obj])
    void = {t: (v == VOID_ID) if (v == VOID_ID).any() else None for t, v in labels.items()}
    objects = [VideoObject(i, {t: v == i for t, v in labels.items()}, void) for i in sorted(values - {VOID_ID})]
    return InteractiveVideo(sequence.name, frames, objects)


def _is_image_folder(root: str | Path) -> bool:
    try:
        image_mask_folders(root)
    except ValueError:
        return False
    return True


def check_dataset(root: str | Path) -> str:
    """The kind of a readable dataset folder, "images" or "vos"; otherwise a ValueError that
    says what is expected."""
    if _is_image_folder(root):
        return "images"
    try:
        open_vos_dataset(root)
    except ValueError:
        raise ValueError(
            f"{root} is neither a VOS dataset (JPEGImages/480p/<seq>/ + Annotations/480p/<seq>/, or "
            "JPEGImages/<video>/ + Annotations/<video>/) nor an image folder (data_GT/ + boundary_GT/, or img/ + gt/)"
        ) from None
    return "vos"
