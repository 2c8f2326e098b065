"""Training clips from image and video datasets: real COCO_MVal / DAVIS-2016 / SA-V files from
../shared/data, and tiny synthetic YouTube-VOS, SA-V and COCO JSON folders."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import require_shared_data
from PIL import Image

from masklet.io.coco import CocoImage, CocoInstance, write_coco_json
from masklet.io.davis import write_davis_png
from masklet.io.sav import SavVideo, read_sav_json, write_sav_json
from masklet.predict.resize import IMAGENET_MEAN, IMAGENET_STD
from masklet.train.data import (
    ClipSampler,
    CocoJsonImages,
    DavisVideos,
    ImageMaskFolder,
    SavVideos,
    YouTubeVosVideos,
    open_training_source,
    sample_frame_indices,
)

S = 64  # clip size for the synthetic sources


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def denormalise(frames: torch.Tensor) -> torch.Tensor:
    return frames * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)


def resized(mask: np.ndarray, size: int) -> torch.Tensor:
    """The expected S x S mask: antialiased bilinear resize of the binary mask, > 0.5."""
    soft = F.interpolate(torch.from_numpy(mask).float()[None, None], (size, size), mode="bilinear",
                         align_corners=False, antialias=True)
    return soft[0, 0] > 0.5


def square(height: int, width: int, top: int, left: int, side: int) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    mask[top:top + side, left:left + side] = True
    return mask


def noise_image(height: int, width: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


# ---------------------------------------------------------------------------- synthetic layouts


def make_image_folder(root, image_dir="img", mask_dir="gt"):
    """Three 80x120 images: a palette label map (objects 1 and 2, and void), a grayscale 0/255
    mask and a grayscale mask whose object is 200."""
    (root / image_dir).mkdir(parents=True)
    (root / mask_dir).mkdir(parents=True)
    labels = np.zeros((80, 120), np.uint8)
    labels[10:40, 10:50] = 1
    labels[45:75, 60:110] = 2
    labels[0:5, :] = 255
    write_davis_png(root / mask_dir / "a.png", labels)
    Image.fromarray(square(80, 120, 20, 30, 40).astype(np.uint8) * 255).save(root / mask_dir / "b.png")
    Image.fromarray(square(80, 120, 5, 70, 30).astype(np.uint8) * 200).save(root / mask_dir / "c.png")
    for n, stem in enumerate("abc"):
        Image.fromarray(noise_image(80, 120, n)).save(root / image_dir / f"{stem}.jpg")
    return root


def make_youtube_vos(root, frames=21, every=5):
    """One video 'v1' of `frames` JPEGs, annotated every `every` frames: object 1 a square on all
    annotated frames, object 2 only from frame 10 on."""
    (root / "JPEGImages" / "v1").mkdir(parents=True)
    (root / "Annotations" / "v1").mkdir(parents=True)
    for f in range(frames):
        Image.fromarray(noise_image(48, 64, f)).save(root / "JPEGImages" / "v1" / f"{f:05d}.jpg")
        if f % every == 0:
            labels = np.zeros((48, 64), np.uint8)
            labels[square(48, 64, 5, 2 + f, 12)] = 1
            if f >= 10:
                labels[square(48, 64, 30, 40, 10)] = 2
            write_davis_png(root / "Annotations" / "v1" / f"{f:05d}.png", labels)
    return root


def make_sav(root, annotated=6, stride=4):
    """SA-V video 'sav_000009': JPEG frame j is a flat grey of level 8 j; annotated frame k's
    object 0 is a square at column 4 k (frame 4 k), object 1 visible on even k only."""
    root.mkdir(parents=True, exist_ok=True)
    frames = []
    for k in range(annotated):
        visible = k % 2 == 0
        frames.append(np.stack([square(40, 60, 10, 4 * k, 12), square(40, 60, 25, 30, 8) & visible]))
    write_sav_json(root / "sav_000009_manual.json", SavVideo.from_masks("sav_000009", frames, [0, 1],
                                                                        frame_count=stride * annotated))
    (root / "sav_000009").mkdir()
    for j in range(stride * (annotated - 1) + 1):
        Image.fromarray(np.full((40, 60, 3), 8 * j, np.uint8)).save(root / "sav_000009" / f"{j:05d}.jpg")
    return root


def make_coco(root):
    """A COCO JSON with images/ beside it: image 1 has two instances and a crowd one, image 2
    only a crowd instance (left out), image 3 one instance."""
    (root / "images").mkdir(parents=True)
    images = [
        CocoImage("one.jpg", 60, 90, [CocoInstance(square(60, 90, 5, 5, 20), 1),
                                      CocoInstance(square(60, 90, 30, 50, 25), 2),
                                      CocoInstance(square(60, 90, 40, 0, 15), 1, iscrowd=1)]),
        CocoImage("crowd.jpg", 60, 90, [CocoInstance(square(60, 90, 0, 0, 30), 1, iscrowd=1)]),
        CocoImage("three.jpg", 60, 90, [CocoInstance(square(60, 90, 10, 40, 30), 2)]),
    ]
    for n, image in enumerate(images):
        Image.fromarray(noise_image(60, 90, n)).save(root / "images" / image.file_name)
    return write_coco_json(root / "instances.json", images, {1: "thing", 2: "other"})


# ---------------------------------------------------------------------------- image sources


def test_image_folder_reads_palette_and_grayscale_masks(tmp_path):
    source = ImageMaskFolder(make_image_folder(tmp_path))
    assert len(source) == 3 and not source.is_video
    palette = source.clip(0, rng(), 1, S, max_objects=5)
    assert palette.frames.shape == (1, 3, S, S) and palette.frames.dtype == torch.float32
    assert palette.masks.shape == (1, 2, S, S) and palette.masks.dtype == torch.bool
    labels = np.asarray(Image.open(tmp_path / "gt" / "a.png"))
    for k, obj in enumerate((1, 2)):  # void (255) is background, not an object
        assert torch.equal(palette.masks[0, k], resized(labels == obj, S))
    for index, stem in ((1, "b"), (2, "c")):
        clip = source.clip(index, rng(), 1, S, 5)
        assert clip.name == f"{stem}.jpg" and clip.masks.shape == (1, 1, S, S)
        assert torch.equal(clip.masks[0, 0], resized(np.asarray(Image.open(tmp_path / "gt" / f"{stem}.png")) > 127, S))
    image = np.asarray(Image.open(tmp_path / "img" / "a.jpg").resize((S, S), Image.BICUBIC), np.float32) / 255
    assert (denormalise(palette.frames[0]) - torch.from_numpy(image).permute(2, 0, 1)).abs().mean() < 0.02


def test_image_folder_errors_name_the_folder(tmp_path):
    (tmp_path / "empty" / "img").mkdir(parents=True)
    (tmp_path / "empty" / "gt").mkdir()
    with pytest.raises(ValueError, match="empty.*no images"):
        ImageMaskFolder(tmp_path / "empty")
    root = make_image_folder(tmp_path / "unpaired")
    (root / "gt" / "b.png").unlink()
    with pytest.raises(ValueError, match=r"gt.*no mask for 1 image.*b\.jpg"):
        ImageMaskFolder(root)
    with pytest.raises(ValueError, match="PseudoVideo"):
        ImageMaskFolder(make_image_folder(tmp_path / "ok")).clip(0, rng(), 4, S, 1)


def test_object_subsets_small_objects_and_empty_masks(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "gt").mkdir()
    labels = np.zeros((100, 100), np.uint8)
    for obj in range(1, 6):  # five 10x10 objects (1% each) and a 3x3 one (0.09%)
        labels[5:15, 20 * obj - 15:20 * obj - 5] = obj
    labels[90:93, 90:93] = 6
    tiny = np.zeros((100, 100), np.uint8)
    tiny[50:53, 50:53], tiny[10:12, 10:12] = 1, 2
    for stem, label_map in (("many", labels), ("tiny", tiny), ("none", np.zeros((100, 100), np.uint8))):
        write_davis_png(tmp_path / "gt" / f"{stem}.png", label_map)
        Image.fromarray(noise_image(100, 100, 0)).save(tmp_path / "img" / f"{stem}.png")
    source = ImageMaskFolder(tmp_path)  # sorted: many, none, tiny
    subsets = set()
    for seed in range(8):
        masks = source.clip(0, rng(seed), 1, 100, max_objects=2).masks[0]
        assert masks.shape[0] == 2
        subsets.add(tuple(sorted(int(labels[m.numpy()][0]) for m in masks)))
    assert len(subsets) > 1 and all(6 not in s for s in subsets)  # random subsets, the 3x3 never
    kept = source.clip(2, rng(), 1, 20, max_objects=3).masks[0]  # all objects tiny: the largest, not lost at 20x20
    assert kept.shape[0] == 1 and kept.any()
    with pytest.raises(ValueError, match="none.png: the image has no object"):
        source.clip(1, rng(), 1, S, 3)


def test_coco_json_images_skip_crowd_instances(tmp_path):
    source = CocoJsonImages(make_coco(tmp_path), tmp_path / "images")
    assert len(source) == 2  # the crowd-only image is left out
    clip = source.clip(0, rng(), 1, 90, max_objects=10)
    assert clip.name == "one.jpg" and clip.masks.shape == (1, 2, 90, 90)
    assert torch.equal(clip.masks[0, 0], resized(square(60, 90, 5, 5, 20), 90))
    assert torch.equal(clip.masks[0, 1], resized(square(60, 90, 30, 50, 25), 90))
    assert source.clip(1, rng(), 1, 90, 10).masks.shape == (1, 1, 90, 90)


def test_coco_mval_clips_match_their_masks():
    folder = require_shared_data() / "images-with-masks" / "COCO_MVal"
    source = open_training_source(folder)
    assert isinstance(source, ImageMaskFolder) and len(source) == 800
    for index in (0, 411, 799):  # 411: a knife of 112 pixels (0.04%), gone at 128 x 128
        clip = source.clip(index, rng(index), 1, 128, 3)
        gt = np.asarray(Image.open(folder / "gt" / (clip.name.rsplit(".", 1)[0] + ".png"))) > 127
        soft = F.interpolate(torch.from_numpy(gt).float()[None, None], (128, 128), mode="bilinear",
                             align_corners=False, antialias=True)[0, 0]
        expected = soft > 0.5 if (soft > 0.5).any() else soft == soft.max()  # a vanishing object keeps its peak
        assert torch.equal(clip.masks[0, 0], expected) and expected.any()
        pixels = denormalise(clip.frames[0])
        assert pixels.min() > -1e-4 and pixels.max() < 1 + 1e-4 and pixels.std() > 0.05


# ---------------------------------------------------------------------------- video sources


def test_frame_indices_stride_fit_and_reverse():
    seen_strides, reversed_ = set(), 0
    for seed in range(200):
        indices = sample_frame_indices(rng(seed), 20, 5, max_stride=3, allow_reverse=True)
        steps = np.diff(indices)
        assert len(set(steps.tolist())) == 1 and 1 <= abs(steps[0]) <= 3
        assert 0 <= min(indices) and max(indices) < 20
        seen_strides.add(abs(int(steps[0])))
        reversed_ += steps[0] < 0
    assert seen_strides == {1, 2, 3} and 60 < reversed_ < 140
    assert sample_frame_indices(rng(), 9, 5, 3, False) == sample_frame_indices(rng(), 9, 5, 3, False)
    assert max(np.diff(sample_frame_indices(rng(1), 5, 3, 3, False))) <= 2  # stride lowered to fit
    assert sample_frame_indices(rng(), 2, 4, 3, False) == [0, 1, 1, 1]  # too short: last frame held


def test_davis_clips_are_the_resized_ground_truth():
    root = require_shared_data() / "davis2016-val"
    source = open_training_source(root)
    assert isinstance(source, DavisVideos) and source.is_video and len(source) == 4
    for seed in range(3):
        clip = source.clip(seed, rng(seed), 4, 96, max_objects=3)
        assert clip.frames.shape == (4, 3, 96, 96) and clip.masks.shape == (4, 1, 96, 96)
        sequence, stems = clip.name[:-1].split("[")
        stems = stems.split(",")
        steps = np.diff([int(s) for s in stems])
        assert len(set(steps.tolist())) == 1 and 1 <= abs(steps[0]) <= 3
        assert clip.masks[0, 0].any()  # DAVIS-2016 0/255: 255 is the object
        for t, stem in enumerate(stems):
            gt = np.asarray(Image.open(root / "Annotations" / "480p" / sequence / f"{stem}.png")) == 255
            assert torch.equal(clip.masks[t, 0], resized(gt, 96))
            jpeg = Image.open(root / "JPEGImages" / "480p" / sequence / f"{stem}.jpg").resize((96, 96), Image.BICUBIC)
            expected = torch.from_numpy(np.asarray(jpeg, np.float32) / 255).permute(2, 0, 1)
            assert (denormalise(clip.frames[t]) - expected).abs().mean() < 0.01
    again = source.clip(2, rng(2), 4, 96, 3)
    assert torch.equal(again.frames, clip.frames) and torch.equal(again.masks, clip.masks)
    assert len({source.clip(2, rng(seed), 4, 96, 3).name for seed in range(10, 15)}) > 1


def test_youtube_vos_samples_annotated_frames_and_visible_objects(tmp_path):
    root = make_youtube_vos(tmp_path / "ytvos")
    source = open_training_source(root)
    assert isinstance(source, YouTubeVosVideos) and len(source) == 1
    objects = set()
    for seed in range(12):
        clip = source.clip(0, rng(seed), 3, 32, max_objects=2)
        stems = [int(s) for s in clip.name[len("v1["):-1].split(",")]
        assert all(s % 5 == 0 for s in stems)  # annotated frames only
        assert clip.masks[0].flatten(1).any(1).all()  # every object visible on the first frame
        n = clip.masks.shape[1]
        objects.add(n)
        assert n == (2 if stems[0] >= 10 else 1)  # object 2 only where it is on the first frame
        for t, stem in enumerate(stems):
            labels = np.asarray(Image.open(root / "Annotations" / "v1" / f"{stem:05d}.png"))
            assert torch.equal(clip.masks[t, 0], resized(labels == 1, 32))
    assert objects == {1, 2}


def test_sav_annotated_frame_k_is_jpeg_frame_4k(tmp_path):
    root = make_sav(tmp_path / "sav")
    source = open_training_source(root)
    assert isinstance(source, SavVideos) and len(source) == 1
    for seed in range(6):
        clip = source.clip(0, rng(seed), 3, 60, max_objects=2)
        stems = [int(s) for s in clip.name[len("sav_000009["):-1].split(",")]
        assert all(s % 4 == 0 for s in stems)
        for t, stem in enumerate(stems):
            grey = denormalise(clip.frames[t]).mean().item() * 255
            assert abs(grey - 8 * stem) < 1.5  # the JPEG of video frame 4k
            assert torch.equal(clip.masks[t, 0], resized(square(40, 60, 10, stem, 12), 60))  # annotated k = stem / 4
            if clip.masks.shape[1] == 2:
                assert bool(clip.masks[t, 1].any()) == (stem // 4 % 2 == 0)  # absent on odd k: all False
    (root / "sav_000009" / "00008.jpg").unlink()
    with pytest.raises(ValueError, match="00008.jpg: missing frame.*frame_stride=4"):
        source.clip(0, rng(), 6, 60, 2)  # 6 of 6 annotated frames: uses annotated frame 2


def test_sav_example_is_annotated_every_fourth_frame():
    video = read_sav_json(require_shared_data() / "sav-example" / "sav_000001_manual.json")
    assert (video.frame_count, video.num_annotated_frames) == (483, 121)
    assert video.num_annotated_frames == math.ceil(video.frame_count / 4)  # frames 0, 4, ..., 480


def test_video_clip_with_no_visible_object_raises(tmp_path):
    root = tmp_path / "v"
    (root / "JPEGImages" / "s").mkdir(parents=True)
    (root / "Annotations" / "s").mkdir(parents=True)
    for f in range(3):
        Image.fromarray(noise_image(16, 16, f)).save(root / "JPEGImages" / "s" / f"{f:05d}.jpg")
        write_davis_png(root / "Annotations" / "s" / f"{f:05d}.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match="s: no object visible"):
        YouTubeVosVideos(root).clip(0, rng(), 2, 16, 1)


# ---------------------------------------------------------------------------- batches and layouts


def test_clip_sampler_batches_are_reproducible(tmp_path):
    videos = YouTubeVosVideos(make_youtube_vos(tmp_path / "ytvos"))
    sav = SavVideos(make_sav(tmp_path / "sav"))
    sampler = ClipSampler([videos, sav], [1.0, 1.0], seed=5)
    later = sampler.batch(3, 3, 4, 32, 2)
    first, later_again = sampler.batch(1, 3, 4, 32, 2), sampler.batch(3, 3, 4, 32, 2)
    fresh = ClipSampler([videos, sav], [1.0, 1.0], seed=5).batch(3, 3, 4, 32, 2)
    for other in (later_again, fresh):
        assert torch.equal(later.frames, other.frames) and torch.equal(later.masks, other.masks)
        assert torch.equal(later.clip_of_object, other.clip_of_object) and later.names == other.names
    assert later.names != first.names
    assert ClipSampler([videos, sav], [1.0, 1.0], seed=6).batch(3, 3, 4, 32, 2).names != later.names
    assert later.frames.shape == (3, 4, 3, 32, 32) and later.frames.dtype == torch.float32
    objects = later.masks.shape[1]
    assert later.masks.shape == (4, objects, 32, 32) and later.clip_of_object.shape == (objects,)
    assert later.clip_of_object.tolist() == sorted(later.clip_of_object.tolist())
    assert set(later.clip_of_object.tolist()) == {0, 1, 2}
    assert later.masks[0].flatten(1).any(1).all()
    names = {ClipSampler([videos, sav], [0.0, 1.0], seed=0).batch(s, 1, 2, 16, 1).names[0][:3] for s in range(5)}
    assert names == {"sav"}  # a zero-weight source is never drawn


def test_clip_sampler_image_source_gives_single_frames(tmp_path):
    images = ImageMaskFolder(make_image_folder(tmp_path))
    batch = ClipSampler([images], [1.0], seed=0).batch(0, 2, 4, 32, 3)
    assert batch.frames.shape == (2, 1, 3, 32, 32) and batch.masks.shape[0] == 1
    with pytest.raises(ValueError, match="one weight per source"):
        ClipSampler([images], [1.0, 2.0], seed=0)


def test_open_training_source_detects_layouts(tmp_path):
    assert isinstance(open_training_source(make_image_folder(tmp_path / "a", "images", "masks")), ImageMaskFolder)
    assert isinstance(open_training_source(make_image_folder(tmp_path / "b")), ImageMaskFolder)
    assert isinstance(open_training_source(make_coco(tmp_path / "coco")), CocoJsonImages)
    assert isinstance(open_training_source(make_youtube_vos(tmp_path / "yt")), YouTubeVosVideos)
    assert isinstance(open_training_source(make_sav(tmp_path / "sav")), SavVideos)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="(?s)empty: not a recognised.*DAVIS.*YouTube-VOS.*SA-V.*image\\+mask.*COCO"):
        open_training_source(tmp_path / "empty")
    with pytest.raises(ValueError, match="no such folder"):
        open_training_source(tmp_path / "missing")


def test_include_keeps_the_items_whose_name_matches(tmp_path):
    root = make_image_folder(tmp_path / "images")
    only_b = open_training_source(root, include="b*")
    assert len(only_b) == 1 and only_b.clip(0, rng(), 1, S, 5).name == "b.jpg"
    assert [open_training_source(root, include="[ac].jpg").name(i) for i in range(2)] == ["a.jpg", "c.jpg"]
    with pytest.raises(ValueError, match=r"no item name matches 'person\*'.*a\.jpg"):
        open_training_source(root, include="person*")
    videos = make_youtube_vos(tmp_path / "ytvos")
    assert len(open_training_source(videos, include="v?")) == 1
    with pytest.raises(ValueError, match="YouTubeVosVideos: no item name matches 'w1'.*v1"):
        open_training_source(videos, include="w1")
