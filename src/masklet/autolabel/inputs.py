"""What a run works on: the images or videos of a source, cut into work items.

A source is an image, a folder of images, a `.txt` list of image paths (one a line, relative to
the list's folder, as YOLO dataset lists are), a video file, a folder of frames (one video), or
a folder of video files and frame folders. Images are cut into shards of `shard_size` images;
each video is one item.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from masklet.errors import MaskletError
from masklet.io.image import IMAGE_SUFFIXES, image_files

KINDS = ("auto", "images", "videos")
DEFAULT_SHARD_SIZE = 16


class SourceError(MaskletError, ValueError):
    """A source that names no images or videos."""


@dataclass(frozen=True)
class WorkItem:
    """One unit of work: a shard of images or one video. `first_index` is the position of its
    first input among all inputs of the run (COCO image ids follow it)."""

    id: str
    inputs: tuple[str, ...]
    first_index: int = 0


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _listed_images(listing: Path) -> list[Path]:
    lines = [line.strip() for line in listing.read_text(encoding="utf-8").splitlines()]
    return [listing.parent / line for line in lines if line and not line.startswith("#")]


def source_kind(source: Path, kind: str = "auto") -> str:
    """"images" or "videos" for a source (`kind` "auto" decides from what it holds)."""
    if kind not in KINDS:
        raise SourceError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if not source.exists():
        raise SourceError(f"{source}: no such file or folder")
    if kind != "auto":
        return kind
    if source.is_file():
        return "images" if _is_image(source) or source.suffix.lower() == ".txt" else "videos"
    return "images" if image_files(source) else "videos"


def image_items(source: Path, shard_size: int = DEFAULT_SHARD_SIZE) -> list[WorkItem]:
    """Shards of the images of a source, in natural order (listed paths may be missing: each
    such image is reported when its shard runs)."""
    if shard_size < 1:
        raise SourceError(f"shard size must be >= 1, got {shard_size}")
    if source.is_dir():
        images = image_files(source)
    elif source.suffix.lower() == ".txt":
        images = _listed_images(source)
    else:
        images = [source]
    if not images:
        raise SourceError(f"{source} holds no images (looked for {' '.join(sorted(IMAGE_SUFFIXES))})")
    stems = [p.stem for p in images]
    duplicates = sorted({s for s in stems if stems.count(s) > 1})
    if duplicates:
        raise SourceError(f"images share the name stems {duplicates[:5]}; outputs are named by stem, rename them")
    return [
        WorkItem(f"images-{start // shard_size:05d}", tuple(str(p) for p in images[start:start + shard_size]), start)
        for start in range(0, len(images), shard_size)
    ]


def video_items(source: Path) -> list[WorkItem]:
    """One item per video: the source itself (a video file or a frame folder) or each video
    file and frame folder in it, by name."""
    if source.is_file() or image_files(source):
        videos = [source]
    else:
        videos = sorted((p for p in source.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
    if not videos:
        raise SourceError(f"{source} holds no videos (video files or folders of frames)")
    names = [video_name(p) for p in videos]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceError(f"videos share the names {duplicates[:5]}; outputs are named by video, rename them")
    return [WorkItem(name, (str(path),), number) for number, (name, path) in enumerate(zip(names, videos))]


def video_name(path: Path) -> str:
    """A video's name: its file stem, or its frame folder's name."""
    return path.name if path.is_dir() else path.stem
