"""Training clips: T frames with N object masks each, read from image and video datasets.

Every source has `__len__` and `clip(index, rng, num_frames, image_size, max_objects) -> Clip`.
All randomness comes from `rng` (a `numpy.random.Generator`), so a clip is a pure function of
(index, rng state, files): `ClipSampler.batch(step)` is the same whenever it is called, which
is what lets a resumed training run continue bit-exactly.

Frames are resized straight to S x S (no aspect-preserving padding, as the predictors do) by
the video predictor's rule (`masklet.predict.resize.video_frame_pixels`: PIL bicubic on the
8-bit image), so what is trained is what is run, then ImageNet-normalised.
Masks are resized to S x S by antialiased bilinear interpolation of the full-resolution binary
mask, thresholded at 0.5.

Mask PNGs are read by `masklet.io.davis.read_davis_png`'s "binary" rule: a palette ("P") PNG
is a label map (each value 1..254 an object, 0 background, 255 void, read as background); a
grayscale (or other mode) mask with values above 127 is one binary object (>127 is object:
COCO_MVal's 0/255 masks, DAVIS-2016's 0/255 annotations, where 255 means object 1); a
grayscale mask whose values are all below 128 is a label map.

Sources:
  ImageMaskFolder   images + masks paired by file stem (`img/` + `gt/`, or `images/` + `masks/`)
  CocoJsonImages    a COCO instance JSON and its image folder (crowd instances skipped)
  DavisVideos       `JPEGImages/480p/<seq>/%05d.jpg` + `Annotations/480p/<seq>/%05d.png`
  YouTubeVosVideos  `JPEGImages/<vid>/*.jpg` + sparse `Annotations/<vid>/*.png`
  SavVideos         SA-V: `<video_id>/%05d.jpg` (24 fps) + `<video_id>_manual.json` (6 fps)
Image sources give single-frame clips; wrap them in `masklet.train.pseudo_video.PseudoVideo`
for T > 1.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from masklet.io.coco import _segmentation_mask
from masklet.io.davis import label_map_to_masks, read_davis_png
from masklet.io.image import IMAGE_SUFFIXES, read_rgb
from masklet.io.rle import rle_area, rle_decode
from masklet.io.sav import SAV_FRAME_STRIDE, read_sav_json
from masklet.io.vos_dataset import VosDataset
from masklet.model.arrays import TorchArrays
from masklet.predict.resize import normalize, video_frame_pixels

MIN_OBJECT_FRACTION = 0.001  # image sources drop objects under 0.1% of the image
CLIP_ATTEMPTS = 10  # video clips resampled while their first frame shows no object
LAYOUTS = (
    "  DAVIS        <dir>/JPEGImages/480p/<seq>/*.jpg + <dir>/Annotations/480p/<seq>/*.png\n"
    "  YouTube-VOS  <dir>/JPEGImages/<video>/*.jpg + <dir>/Annotations/<video>/*.png\n"
    "  SA-V         <dir>/<video_id>/*.jpg + <dir>/<video_id>_manual.json\n"
    "  image+mask   <dir>/img/ + <dir>/gt/, or <dir>/images/ + <dir>/masks/ (paired by file stem)\n"
    "  COCO         <file>.json (instance annotations) with an images/ folder beside it"
)

_CPU = TorchArrays("cpu", torch.float32)


@dataclass
class Clip:
    frames: torch.Tensor  # [T, 3, S, S] float32, ImageNet-normalised
    masks: torch.Tensor  # [T, N, S, S] bool, N >= 1; all False where an object is not visible
    name: str  # where it came from, for logs


@dataclass
class ClipBatch:
    frames: torch.Tensor  # [B, T, 3, S, S] float32, ImageNet-normalised
    masks: torch.Tensor  # [T, O, S, S] bool: the objects of clip 0, then those of clip 1, ...
    clip_of_object: torch.Tensor  # [O] long, the clip each object belongs to
    names: list[str]  # [B]

    @classmethod
    def from_clips(cls, clips: list[Clip]) -> ClipBatch:
        counts = torch.tensor([c.masks.shape[1] for c in clips])
        return cls(
            frames=torch.stack([c.frames for c in clips]),
            masks=torch.cat([c.masks for c in clips], dim=1),
            clip_of_object=torch.repeat_interleave(torch.arange(len(clips)), counts),
            names=[c.name for c in clips],
        )


@dataclass
class ImageSample:
    """A still image and its chosen objects at S x S, before normalisation (the input of
    PseudoVideo)."""

    image: torch.Tensor  # [3, S, S] float32 in [0, 1]
    masks: torch.Tensor  # [N, S, S] bool, each non-empty
    name: str


def normalise_frames(frames: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] [..., 3, S, S] (CPU) -> ImageNet-normalised, as the predictors normalise."""
    return normalize(frames, _CPU)


def read_resized_rgb(path: Path, size: int) -> torch.Tensor:
    """An image file -> float32 [3, S, S] in [0, 1], resized straight to S x S as the video
    predictor resizes frames (JPEGs are decoded at a reduced scale where that still leaves at
    least S x S pixels)."""
    pixels = read_rgb(path, draft_size=(size, size))  # [H, W, 3] uint8
    return torch.from_numpy(np.ascontiguousarray(video_frame_pixels(pixels, size)))


def label_masks(labels: np.ndarray, ids: list[int] | None = None) -> tuple[list[int], np.ndarray]:
    """A label map [H, W] -> (object ids, bool masks [N, H, W]): the given ids (empty where
    absent), or those present (1..254, found by a bincount, much faster than `np.unique`)."""
    if ids is None:
        ids = (np.flatnonzero(np.bincount(labels.ravel(), minlength=256)[1:255]) + 1).tolist()
    masks, ids = label_map_to_masks(labels, ids)
    return ids, masks


def _resize_soft(masks: np.ndarray, size: int) -> torch.Tensor:
    """bool [N, H, W] -> float [N, S, S] in [0, 1]: antialiased bilinear resize."""
    soft = torch.from_numpy(np.ascontiguousarray(masks)).float()[None]
    if soft.shape[1] == 0:
        return torch.zeros(0, size, size)
    return F.interpolate(soft, (size, size), mode="bilinear", align_corners=False, antialias=True)[0]


def resize_masks(masks: np.ndarray, size: int) -> torch.Tensor:
    """bool [N, H, W] -> bool [N, S, S]: antialiased bilinear resize, thresholded at 0.5."""
    return _resize_soft(masks, size) > 0.5


def _check_request(num_frames: int, image_size: int, max_objects: int) -> None:
    if num_frames < 1 or image_size < 1 or max_objects < 1:
        raise ValueError(
            f"num_frames, image_size and max_objects must be at least 1, got {num_frames}, {image_size}, {max_objects}"
        )


# ---------------------------------------------------------------------------- image sources


class _ImageSource:
    """Still images with object masks. Subclasses give `_items` (one per image), `name`,
    `_image_path` and `_object_masks`."""

    is_video = False

    def __len__(self) -> int:
        return len(self._items)

    def name(self, index: int) -> str:
        raise NotImplementedError

    def keep_matching(self, pattern: str) -> None:
        """Keep only the images whose name (file name) matches the shell-style `pattern`."""
        self._items = [self._items[i] for i in _matching(self, pattern, [self.name(i) for i in range(len(self))])]

    def _image_path(self, index: int) -> Path:
        raise NotImplementedError

    def _object_masks(self, index: int) -> np.ndarray:
        """bool [N, H, W] at full resolution: every object of the image."""
        raise NotImplementedError

    def image(self, index: int, image_size: int) -> torch.Tensor:
        """The image alone: float32 [3, S, S] in [0, 1]."""
        return read_resized_rgb(self._image_path(index), image_size)

    def sample(self, index: int, rng: np.random.Generator, image_size: int, max_objects: int) -> ImageSample:
        """The image with a random subset of at most `max_objects` of its objects. Objects under
        0.1% of the image are dropped unless all are, then the largest is kept; an object that
        would vanish at S x S keeps its most covered pixel(s)."""
        _check_request(1, image_size, max_objects)
        name = self.name(index)
        masks = self._object_masks(index)
        areas = masks.sum((1, 2))  # [N]
        if not areas.any():
            raise ValueError(f"{name}: the image has no object (its masks are empty)")
        large = np.flatnonzero(areas >= MIN_OBJECT_FRACTION * masks[0].size)
        candidates = large if len(large) else np.array([int(areas.argmax())])
        chosen = np.sort(rng.choice(candidates, min(len(candidates), max_objects), replace=False))
        soft = _resize_soft(masks[chosen], image_size)  # [N, S, S]
        hard = soft > 0.5
        vanished = ~hard.flatten(1).any(1)
        hard[vanished] = soft[vanished] == soft[vanished].amax((1, 2), keepdim=True)
        return ImageSample(self.image(index, image_size), hard, name)

    def clip(self, index: int, rng: np.random.Generator, num_frames: int, image_size: int,
             max_objects: int) -> Clip:
        """A single-frame clip (T = 1) of the image; wrap the source in PseudoVideo for more."""
        if num_frames != 1:
            raise ValueError(
                f"{type(self).__name__} gives single-frame clips, asked for {num_frames} frames; "
                "wrap it in masklet.train.pseudo_video.PseudoVideo for video clips"
            )
        sample = self.sample(index, rng, image_size, max_objects)
        return Clip(normalise_frames(sample.image)[None], sample.masks[None], sample.name)


class ImageMaskFolder(_ImageSource):
    """Images in `root/image_dir` paired by file stem with masks in `root/mask_dir` (COCO_MVal:
    `img/x.jpg` + `gt/x.png`). Masks are read by the module docstring's rules."""

    def __init__(self, root: str | Path, image_dir: str = "img", mask_dir: str = "gt"):
        self.root = Path(root)
        images_at, masks_at = self.root / image_dir, self.root / mask_dir
        for folder in (images_at, masks_at):
            if not folder.is_dir():
                raise ValueError(f"{folder}: no such folder")
        images = sorted(p for p in images_at.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise ValueError(f"{images_at}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        masks = {p.stem: p for p in sorted(masks_at.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
        unpaired = [p.name for p in images if p.stem not in masks]
        if unpaired:
            raise ValueError(
                f"{masks_at}: no mask for {len(unpaired)} image(s) of {images_at}, e.g. {unpaired[:3]} "
                "(masks pair with images by file stem)"
            )
        self._items = [(p, masks[p.stem]) for p in images]

    def name(self, index: int) -> str:
        return self._items[index][0].name

    def _image_path(self, index: int) -> Path:
        return self._items[index][0]

    def _object_masks(self, index: int) -> np.ndarray:
        return label_masks(read_davis_png(self._items[index][1], grey="binary"))[1]


class CocoJsonImages(_ImageSource):
    """A COCO instance-segmentation JSON: each image with all its non-crowd instances as objects.
    Masks are decoded per clip (not all at load time), so COCO-sized files fit in memory;
    images without a non-crowd instance are left out."""

    def __init__(self, json_path: str | Path, image_dir: str | Path):
        json_path, self.image_dir = Path(json_path), Path(image_dir)
        if not self.image_dir.is_dir():
            raise ValueError(f"{self.image_dir}: no such image folder (for {json_path})")
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
            images = {int(img["id"]): img for img in data["images"]}
            instances: dict[int, list] = {}
            for ann in data["annotations"]:
                if not ann.get("iscrowd", 0):
                    instances.setdefault(int(ann["image_id"]), []).append(ann["segmentation"])
            self._items = [
                (str(img["file_name"]), int(img["height"]), int(img["width"]), instances[image_id])
                for image_id, img in images.items() if image_id in instances
            ]
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{json_path}: not a COCO instance-segmentation file ({e})") from None
        if not self._items:
            raise ValueError(f"{json_path}: no image with a non-crowd instance")

    def name(self, index: int) -> str:
        return self._items[index][0]

    def _image_path(self, index: int) -> Path:
        return self.image_dir / self._items[index][0]

    def _object_masks(self, index: int) -> np.ndarray:
        file_name, height, width, segmentations = self._items[index]
        masks = np.stack([_segmentation_mask(s, height, width) for s in segmentations])
        if masks.shape[1:] != (height, width):
            raise ValueError(f"{file_name}: an instance mask is {masks.shape[1:]}, the image {(height, width)}")
        return masks


# ---------------------------------------------------------------------------- video sources


def sample_frame_indices(rng: np.random.Generator, length: int, num_frames: int, max_stride: int,
                         allow_reverse: bool) -> list[int]:
    """`num_frames` indices into `length` annotated frames: in order with a random stride in
    [1, max_stride] (lowered so the clip fits) from a random start, reversed with probability
    0.5 when `allow_reverse`. A sequence shorter than the clip holds its last frame."""
    if length >= num_frames:
        fits = (length - 1) // (num_frames - 1) if num_frames > 1 else 1
        stride = int(rng.integers(1, min(max_stride, fits) + 1))
        start = int(rng.integers(0, length - (num_frames - 1) * stride))
        indices = [start + stride * t for t in range(num_frames)]
    else:
        indices = [min(t, length - 1) for t in range(num_frames)]
    if allow_reverse and rng.random() < 0.5:
        indices.reverse()
    return indices


class _Video:
    """One annotated video: `length` annotated frames, their image files and object masks."""

    name: str
    length: int

    def frame_path(self, i: int) -> Path:
        raise NotImplementedError

    def masks(self, i: int, ids: list[int] | None = None) -> tuple[list[int], np.ndarray]:
        """(object ids, bool masks [N, H, W]) on annotated frame i: the given objects (empty
        where absent), or those present when `ids` is None."""
        raise NotImplementedError


class _LabelMapVideo(_Video):
    """A DAVIS / YouTube-VOS sequence, restricted to its annotated frames."""

    def __init__(self, dataset: VosDataset, name: str):
        sequence = dataset.sequence(name)
        self.name = name
        self._frames = [sequence.frames[f] for f in sorted(sequence.annotations)]
        self._labels = [sequence.annotations[f] for f in sorted(sequence.annotations)]
        self.length = len(self._frames)

    def frame_path(self, i: int) -> Path:
        return self._frames[i]

    def masks(self, i: int, ids: list[int] | None = None) -> tuple[list[int], np.ndarray]:
        return label_masks(read_davis_png(self._labels[i], grey="binary"), ids)


class _SavVideo(_Video):
    """An SA-V video: annotated frame k is JPEG frame `frame_stride * k` of its folder."""

    def __init__(self, json_path: Path, frame_dir: Path, frame_stride: int):
        self._video = read_sav_json(json_path)
        self.name = self._video.video_id
        self.length = self._video.num_annotated_frames
        self._frame_dir, self._stride = frame_dir, frame_stride

    def frame_path(self, i: int) -> Path:
        path = self._frame_dir / f"{self._stride * i:05d}.jpg"
        if not path.is_file():
            raise ValueError(
                f"{path}: missing frame for annotated frame {i} (frame_stride={self._stride}; "
                "use frame_stride=1 for folders holding only the 6 fps annotated frames)"
            )
        return path

    def masks(self, i: int, ids: list[int] | None = None) -> tuple[list[int], np.ndarray]:
        rles = dict(zip(self._video.object_ids, self._video.masklet[i]))
        if ids is None:
            ids = [obj for obj, rle in rles.items() if rle_area(rle) > 0]
        shape = (len(ids), self._video.height, self._video.width)
        return ids, (np.stack([rle_decode(rles[obj]) for obj in ids]) if ids else np.zeros(shape, bool))


class _VideoSource:
    """Annotated videos, read lazily: a clip decodes only its own frames and annotations."""

    is_video = True

    def __init__(self, max_stride: int, allow_reverse: bool):
        if max_stride < 1:
            raise ValueError(f"max_stride must be at least 1, got {max_stride}")
        self.max_stride, self.allow_reverse = max_stride, allow_reverse
        self._names: list[str] = []

    def __len__(self) -> int:
        return len(self._names)

    def keep_matching(self, pattern: str) -> None:
        """Keep only the videos whose name matches the shell-style `pattern`."""
        self._names = [self._names[i] for i in _matching(self, pattern, self._names)]

    def video(self, index: int) -> _Video:
        raise NotImplementedError

    def clip(self, index: int, rng: np.random.Generator, num_frames: int, image_size: int,
             max_objects: int) -> Clip:
        """T annotated frames (`sample_frame_indices`) with up to `max_objects` random objects
        among those visible (non-empty at S x S) on the clip's first frame; the frame indices are
        drawn again (up to CLIP_ATTEMPTS times) while that frame shows none. The clip is named
        `<video>[<frame file stems, in clip order>]`."""
        _check_request(num_frames, image_size, max_objects)
        video = self.video(index)
        for _ in range(CLIP_ATTEMPTS):
            indices = sample_frame_indices(rng, video.length, num_frames, self.max_stride, self.allow_reverse)
            ids, first = video.masks(indices[0])
            first = resize_masks(first, image_size)  # [N, S, S]
            visible = np.flatnonzero(first.flatten(1).any(1).numpy())
            if len(visible):
                break
        else:
            raise ValueError(f"{video.name}: no object visible on the first frame of {CLIP_ATTEMPTS} sampled clips")
        chosen = np.sort(rng.choice(visible, min(len(visible), max_objects), replace=False))
        ids = [ids[k] for k in chosen]
        masks = [first[torch.from_numpy(chosen)]]
        masks += [resize_masks(video.masks(i, ids)[1], image_size) for i in indices[1:]]
        frames = torch.stack([read_resized_rgb(video.frame_path(i), image_size) for i in indices])
        stems = ",".join(video.frame_path(i).stem for i in indices)
        return Clip(normalise_frames(frames), torch.stack(masks), f"{video.name}[{stems}]")


class DavisVideos(_VideoSource):
    """DAVIS: `root/JPEGImages/<resolution>/<seq>/%05d.jpg` with `root/Annotations/<resolution>/
    <seq>/%05d.png` label maps (palette; DAVIS-2016's grayscale 0/255 maps are object 1)."""

    def __init__(self, root: str | Path, resolution: str = "480p", max_stride: int = 3, allow_reverse: bool = True):
        super().__init__(max_stride, allow_reverse)
        root = Path(root)
        self._dataset = VosDataset(root, root / "JPEGImages" / resolution, root / "Annotations" / resolution)
        self._names = _sequence_names(self._dataset)

    def video(self, index: int) -> _Video:
        return _LabelMapVideo(self._dataset, self._names[index])


class YouTubeVosVideos(_VideoSource):
    """YouTube-VOS: `root/JPEGImages/<vid>/*.jpg` with sparse `root/Annotations/<vid>/*.png`
    (every 5th frame); clips are drawn from the annotated frames only, so stride 1 there is 5
    video frames."""

    def __init__(self, root: str | Path, max_stride: int = 3, allow_reverse: bool = True):
        super().__init__(max_stride, allow_reverse)
        root = Path(root)
        self._dataset = VosDataset(root, root / "JPEGImages", root / "Annotations")
        self._names = _sequence_names(self._dataset)

    def video(self, index: int) -> _Video:
        return _LabelMapVideo(self._dataset, self._names[index])


class SavVideos(_VideoSource):
    """SA-V: `root/<video_id>_manual.json` masklets (COCO RLE at 6 fps) with the video's
    JPEG frames in `frame_root/<video_id>/%05d.jpg` (`frame_root` defaults to `root`).

    Assumed, as in SA-V's own tooling and the example file (483 frames, 121 annotated frames =
    ceil(483 / 4)): the frame folder holds the video at 24 fps, so annotated frame k is JPEG
    frame 4k (`frame_stride=4`); pass `frame_stride=1` for folders of the annotated frames only.
    Clips are drawn from the annotated frames. Only the manual masklets are read.
    """

    def __init__(self, root: str | Path, frame_root: str | Path | None = None, frame_stride: int = SAV_FRAME_STRIDE,
                 max_stride: int = 3, allow_reverse: bool = True):
        super().__init__(max_stride, allow_reverse)
        self.root = Path(root)
        self.frame_root = self.root if frame_root is None else Path(frame_root)
        self.frame_stride = frame_stride
        suffix = "_manual.json"
        self._names = sorted(p.name[: -len(suffix)] for p in self.root.glob(f"*{suffix}"))
        if not self._names:
            raise ValueError(f"{self.root}: no SA-V annotation files (<video_id>{suffix})")

    def video(self, index: int) -> _Video:
        name = self._names[index]
        return _SavVideo(self.root / f"{name}_manual.json", self.frame_root / name, self.frame_stride)


def _matching(source, pattern: str, names: list[str]) -> list[int]:
    """Indices of `names` that match `pattern` (fnmatch, case-sensitive); an error when none does."""
    kept = [i for i, name in enumerate(names) if fnmatch.fnmatchcase(name, pattern)]
    if not kept:
        examples = ", ".join(names[:3])
        raise ValueError(f"{type(source).__name__}: no item name matches {pattern!r} (names look like: {examples})")
    return kept


def _sequence_names(dataset: VosDataset) -> list[str]:
    for folder in (dataset.image_root, dataset.annotation_root):
        if not folder.is_dir():
            raise ValueError(f"{folder}: no such folder")
    names = dataset.sequence_names()
    if not names:
        raise ValueError(f"{dataset.annotation_root}: no sequences")
    return names


# ---------------------------------------------------------------------------- batches


class ClipSampler:
    """Deterministic training batches from weighted sources.

    `batch(step, ...)` draws from `numpy.random.default_rng([seed, step])`: first the source
    (one per step, with probability proportional to its weight, so every clip of the batch has
    the same T), then one child generator per slot (spawned from the step's seed sequence),
    which picks the slot's index (uniformly, with replacement) and its clip. The same step gives
    the same batch in any call order, so batches can also be built in DataLoader workers.
    Video sources (and PseudoVideo) give `num_frames` frames, or their own count where
    `source_frames` gives one (not None); a plain image source gives single frames, so a step
    that draws one has T = 1.
    """

    def __init__(self, sources: list, weights: list[float], seed: int, source_frames: list[int | None] | None = None):
        if not sources or len(weights) != len(sources):
            raise ValueError(f"need one weight per source, got {len(sources)} sources and {len(weights)} weights")
        weights = np.asarray(weights, dtype=np.float64)
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"weights must be non-negative with a positive sum, got {weights.tolist()}")
        empty = [type(s).__name__ for s in sources if len(s) == 0]
        if empty:
            raise ValueError(f"empty source(s): {empty}")
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        source_frames = [None] * len(sources) if source_frames is None else list(source_frames)
        if len(source_frames) != len(sources) or any(f is not None and f < 1 for f in source_frames):
            raise ValueError(f"source_frames needs one count >= 1 (or None) per source, got {source_frames}")
        self.sources, self.seed, self.source_frames = list(sources), int(seed), source_frames
        self._probabilities = weights / weights.sum()

    def batch(self, step: int, batch_size: int, num_frames: int, image_size: int, max_objects: int) -> ClipBatch:
        if step < 0 or batch_size < 1:
            raise ValueError(f"step must be >= 0 and batch_size >= 1, got {step} and {batch_size}")
        seeds = np.random.SeedSequence([self.seed, step])
        rng = np.random.default_rng(seeds)  # = default_rng([seed, step])
        drawn = int(rng.choice(len(self.sources), p=self._probabilities))
        source = self.sources[drawn]
        frames = (num_frames if self.source_frames[drawn] is None else self.source_frames[drawn]) if source.is_video else 1
        clips = []
        for child in seeds.spawn(batch_size):  # = rng.spawn(batch_size) (numpy >= 1.25)
            slot = np.random.default_rng(child)
            index = int(slot.integers(len(source)))
            clips.append(source.clip(index, slot, frames, image_size, max_objects))
        return ClipBatch.from_clips(clips)


def open_training_source(path: str | Path, include: str | None = None):
    """The source for a dataset folder (or COCO .json file), by its layout (see LAYOUTS),
    with only the images or videos whose name matches `include` (a shell pattern) when given.
    Image sources come back as they are: wrap them in PseudoVideo for video clips."""
    source = _open_layout(Path(path))
    if include is not None:
        source.keep_matching(include)
    return source


def _open_layout(path: Path):
    if path.is_file() and path.suffix.lower() == ".json":
        return CocoJsonImages(path, path.parent / "images")
    if not path.is_dir():
        raise ValueError(f"{path}: no such folder or .json file; recognised layouts:\n{LAYOUTS}")
    if (path / "JPEGImages" / "480p").is_dir() and (path / "Annotations" / "480p").is_dir():
        return DavisVideos(path)
    if (path / "JPEGImages").is_dir() and (path / "Annotations").is_dir():
        return YouTubeVosVideos(path)
    if any(path.glob("*_manual.json")):
        return SavVideos(path)
    for image_dir, mask_dir in (("img", "gt"), ("images", "masks")):
        if (path / image_dir).is_dir() and (path / mask_dir).is_dir():
            return ImageMaskFolder(path, image_dir, mask_dir)
    raise ValueError(f"{path}: not a recognised training data layout; expected one of:\n{LAYOUTS}")
