"""Pseudo-videos from still images: masks follow the pixels through camera motion, pasting,
occlusion and photometric jitter; clips are reproducible from the rng."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from conftest import require_shared_data
from PIL import Image

from masklet.predict.resize import IMAGENET_MEAN, IMAGENET_STD
from masklet.train.data import ClipSampler, ImageMaskFolder, open_training_source
from masklet.train.pseudo_video import Motion, PseudoVideo, pseudo_video_from_settings, random_trajectory

S = 128
STILL = Motion(0.0, 0.0, 0.0, 0.0)
NO_JITTER = dict(brightness=0.0, contrast=0.0, saturation=0.0, frame_jitter=0.0, blur_prob=0.0)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def disk_image(root, stem: str, colour, radius: int, seed: int, size=(200, 300)) -> None:
    """A 200x300 image: a background without red (R <= 60) and a disk of `colour` in the middle,
    with its 0/255 mask."""
    height, width = size
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3)).astype(np.uint8)
    pixels[..., 0] //= 4
    yy, xx = np.mgrid[:height, :width]
    disk = (yy - height / 2) ** 2 + (xx - width / 2) ** 2 < radius**2
    pixels[disk] = colour
    Image.fromarray(pixels).save(root / "img" / f"{stem}.png")
    Image.fromarray(disk.astype(np.uint8) * 255).save(root / "gt" / f"{stem}.png")


@pytest.fixture()
def disks(tmp_path):
    """Image 0: a red disk (radius 50); image 1: a big blue disk (radius 90)."""
    (tmp_path / "img").mkdir()
    (tmp_path / "gt").mkdir()
    disk_image(tmp_path, "a", (255, 0, 0), 50, seed=0)
    disk_image(tmp_path, "b", (0, 0, 255), 90, seed=1)
    return ImageMaskFolder(tmp_path)


def rgb(frames: torch.Tensor) -> torch.Tensor:
    return frames * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)


def red(frames: torch.Tensor) -> torch.Tensor:
    """[T, 3, S, S] normalised -> bool [T, S, S]: clearly red pixels."""
    x = rgb(frames)
    return (x[:, 0] > 0.45) & (x[:, 0] - x[:, 1:].amax(1) > 0.3)


def iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a & b).sum() / (a | b).sum()).item()


def test_shapes_and_masks_follow_the_object_under_camera_motion(disks):
    video = PseudoVideo(disks, paste_prob=0.0, occlusion_prob=0.0, **NO_JITTER)
    assert video.is_video and len(video) == 2
    for seed in range(4):
        clip = video.clip(0, rng(seed), 4, S, max_objects=3)
        assert clip.frames.shape == (4, 3, S, S) and clip.frames.dtype == torch.float32
        assert clip.masks.shape == (4, 1, S, S) and clip.masks.dtype == torch.bool
        assert clip.masks[0, 0].any() and clip.name == "a.png"
        for t in range(4):
            assert iou(clip.masks[t, 0], red(clip.frames[t : t + 1])[0]) > 0.95


def test_pasted_object_moves_on_another_background(disks):
    video = PseudoVideo(disks, paste_prob=1.0, occlusion_prob=0.0, **NO_JITTER)
    shifts = []
    for seed in range(4):
        clip = video.clip(0, rng(seed), 4, S, 1)
        assert clip.name == "a.png on b.png"
        reds = red(clip.frames)
        x = rgb(clip.frames)
        blue = (x[:, 2] > 0.7) & (x[:, :2].amax(1) < 0.3) & ~clip.masks[:, 0]  # the background's disk
        for t in range(4):
            assert iou(clip.masks[t, 0], reds[t]) > 0.95
        centre = [torch.nonzero(m).float().mean(0) for m in (clip.masks[0, 0], clip.masks[3, 0], blue[0], blue[3])]
        shifts.append(((centre[1] - centre[0]) - (centre[3] - centre[2])).norm().item())
    assert max(shifts) > 1.0  # the object's trajectory is not the background's


def test_masks_stay_aligned_under_photometric_jitter_and_blur(disks):
    video = PseudoVideo(disks, paste_prob=0.5, occlusion_prob=0.0, brightness=0.3, contrast=0.3,
                        saturation=0.3, frame_jitter=0.05, blur_prob=1.0, blur_sigma=(1.0, 1.0))
    plain = PseudoVideo(disks, paste_prob=0.5, occlusion_prob=0.0, **NO_JITTER)
    for seed in range(4):
        clip, reference = video.clip(0, rng(seed), 3, S, 1), plain.clip(0, rng(seed), 3, S, 1)
        assert torch.equal(clip.masks, reference.masks)  # jitter draws after the geometry
        assert not torch.equal(clip.frames, reference.frames)
        for t in range(3):
            assert iou(clip.masks[t, 0], red(clip.frames[t : t + 1])[0]) > 0.9


def test_consecutive_frames_are_close(disks):
    video = PseudoVideo(disks, paste_prob=0.0, occlusion_prob=0.0, **NO_JITTER)
    for seed in range(4):  # steps of at most 4% (5 px) shift, 4 degrees, 4% scale, 1 degree shear
        masks = video.clip(0, rng(seed), 6, S, 1).masks[:, 0]
        centres = torch.stack([torch.nonzero(m).float().mean(0) for m in masks])  # [T, 2]
        assert (centres[1:] - centres[:-1]).norm(dim=1).max() < 9
        areas = masks.flatten(1).sum(1).float()
        assert (areas[1:] / areas[:-1]).sub(1).abs().max() < 0.1
        assert min(iou(masks[t], masks[t + 1]) for t in range(5)) > 0.6
    poses = random_trajectory(rng(), 50, Motion(0.05, 10.0, 0.1, 4.0), Motion(0.04, 4.0, 0.04, 1.0))
    steps = np.abs(np.diff(poses, axis=0))
    assert (steps <= np.array([0.04, 0.04, 4.0, 0.04, 1.0]) + 1e-12).all()
    assert (np.abs(poses[0]) <= np.array([0.05, 0.05, 10.0, 0.1, 4.0])).all()


def test_forced_occlusion_hides_the_object_on_the_middle_frame(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "gt").mkdir()
    disk_image(tmp_path, "a", (255, 0, 0), 20, seed=0)
    disk_image(tmp_path, "b", (0, 0, 255), 90, seed=1)
    video = PseudoVideo(ImageMaskFolder(tmp_path), start=Motion(0.02, 3.0, 0.03, 1.0),
                        step=Motion(0.01, 1.0, 0.01, 0.5), paste_prob=0.0, occlusion_prob=1.0,
                        occluder_scale=(1.0, 1.0), occluder_sweep=(0.6, 0.6), **NO_JITTER)
    for seed in range(4):
        clip = video.clip(0, rng(seed), 5, S, 1)
        assert clip.name == "a.png behind b.png"
        visible = clip.masks[:, 0].flatten(1).any(1).tolist()
        assert visible[0] and visible[4] and not visible[2]  # all False while covered
        assert not red(clip.frames[2:3]).any()
        x = rgb(clip.frames[2])
        assert ((x[2] > 0.7) & (x[:2].amax(0) < 0.3)).float().mean() > 0.15  # the blue occluder is in view


def test_objects_not_on_the_first_frame_are_redrawn(disks):
    video = PseudoVideo(disks, start=Motion(3.0, 0.0, 0.0, 0.0), paste_prob=0.0, occlusion_prob=0.0)
    for seed in range(4):  # start poses mostly off-screen: drawn again, the last try from the still pose
        clip = video.clip(0, rng(seed), 3, S, 1)
        assert clip.masks.shape[1] == 1 and clip.masks[0, 0].any()


def test_still_settings_give_the_image_clip(disks):
    video = PseudoVideo(disks, start=STILL, step=STILL, paste_prob=0.0, occlusion_prob=0.0, **NO_JITTER)
    clip, still = video.clip(1, rng(), 3, S, 1), disks.clip(1, rng(), 1, S, 1)
    assert torch.allclose(clip.frames, still.frames.expand(3, -1, -1, -1), atol=1e-4)
    assert torch.equal(clip.masks, still.masks.expand(3, -1, -1, -1))


def test_clips_are_a_function_of_the_rng(disks):
    video = PseudoVideo(disks, paste_prob=0.5, occlusion_prob=0.5, blur_prob=0.3)
    for seed in range(3):
        a, b = video.clip(0, rng(seed), 4, S, 2), video.clip(0, rng(seed), 4, S, 2)
        assert torch.equal(a.frames, b.frames) and torch.equal(a.masks, b.masks) and a.name == b.name
    c = video.clip(0, rng(99), 4, S, 2)
    assert not torch.equal(a.frames, c.frames)


def test_clip_sampler_gives_pseudo_video_batches(disks):
    sampler = ClipSampler([PseudoVideo(disks, paste_prob=0.5, occlusion_prob=0.5)], [1.0], seed=3)
    batch = sampler.batch(7, 3, 5, 32, 2)
    assert batch.frames.shape == (3, 5, 3, 32, 32) and batch.masks.shape[:1] == (5,)
    assert batch.masks.shape[1] == len(batch.clip_of_object) >= 3
    again = ClipSampler([PseudoVideo(disks, paste_prob=0.5, occlusion_prob=0.5)], [1.0], seed=3).batch(7, 3, 5, 32, 2)
    assert torch.equal(batch.frames, again.frames) and torch.equal(batch.masks, again.masks)


def test_zoom_brings_objects_to_the_asked_size_and_keeps_the_view_inside_the_image(disks, tmp_path):
    zoom = dict(start=STILL, step=STILL, paste_prob=0.0, occlusion_prob=0.0, zoom_prob=1.0, **NO_JITTER)
    video = PseudoVideo(disks, zoom_area=(0.4, 0.4), **zoom)
    small = video.clip(0, rng(), 3, S, 1)  # the red disk covers 13% of the image
    assert small.masks[:, 0].float().mean().item() == pytest.approx(0.4, abs=0.02)
    assert iou(small.masks[0, 0], red(small.frames[:1])[0]) > 0.95
    large = video.clip(1, rng(), 3, S, 1)  # the blue disk already covers 42%: never shrunk
    assert large.masks[:, 0].float().mean().item() == pytest.approx(0.424, abs=0.02)
    (tmp_path / "corner" / "img").mkdir(parents=True)
    (tmp_path / "corner" / "gt").mkdir()
    pixels = np.full((200, 300, 3), 90, np.uint8)
    disk = np.hypot(*np.mgrid[:200, :300] - np.array([20, 30])[:, None, None]) < 18
    pixels[disk] = (255, 0, 0)
    Image.fromarray(pixels).save(tmp_path / "corner" / "img" / "c.png")
    Image.fromarray(disk.astype(np.uint8) * 255).save(tmp_path / "corner" / "gt" / "c.png")
    clip = PseudoVideo(ImageMaskFolder(tmp_path / "corner"), **zoom).clip(0, rng(), 2, S, 1)
    brightest = rgb(clip.frames).amax(1)  # [T, S, S]: grey 0.35 or red 1; uncovered border would be 0
    assert brightest.amin().item() > 0.2  # (0.25 on the outermost pixels, half-sampled)
    assert clip.masks[0, 0].float().mean().item() > 3 * disk.mean()  # magnified (to the 3x cap)
    assert iou(clip.masks[0, 0], red(clip.frames[:1])[0]) > 0.9


def test_settings_of_a_training_config(disks):
    assert vars(pseudo_video_from_settings(disks, True)) == vars(PseudoVideo(disks))
    video = pseudo_video_from_settings(disks, {
        "step": {"translation": 0.02, "rotation": 2, "scale": 0.02, "shear": 0.5},
        "occlusion_prob": 0.1, "occluder_scale": [0.3, 0.6]})
    assert video.step == Motion(0.02, 2.0, 0.02, 0.5) and video.start == PseudoVideo(disks).start
    assert video.occlusion_prob == 0.1 and video.occluder_scale == (0.3, 0.6)
    with pytest.raises(ValueError, match=r"unknown pseudo_video settings \['occlusion'\]; known: \['start', 'step'"):
        pseudo_video_from_settings(disks, {"occlusion": 0.1})
    with pytest.raises(ValueError, match="pseudo_video step: give all of"):
        pseudo_video_from_settings(disks, {"step": {"translation": 0.02}})


def test_speed():
    """Time per 4-frame 256 x 256 clip on one thread, the rendering alone (images decoded once
    and reused) and end to end from COCO_MVal's files; printed for the record (run with -s).
    CPU time is reported beside wall time: it is what the clip costs when other processes
    share the cores."""
    images = open_training_source(require_shared_data() / "images-with-masks" / "COCO_MVal")
    torch.set_num_threads(1)

    class Decoded:  # the COCO_MVal images and masks read once
        def __init__(self, source):
            self.source, self.samples, self.images = source, {}, {}

        def __len__(self):
            return 40

        def name(self, index):
            return self.source.name(index)

        def image(self, index, size):
            if index not in self.images:
                self.images[index] = self.source.image(index, size)
            return self.images[index]

        def sample(self, index, rng, size, max_objects):
            if index not in self.samples:
                self.samples[index] = self.source.sample(index, rng, size, max_objects)
            return self.samples[index]

    decoded = Decoded(images)
    for index in range(40):
        decoded.sample(index, rng(), 256, 3), decoded.image(index, 256)
    lines = []
    for label, paste, occlusion in (("camera", 0.0, 0.0), ("paste+occluder", 1.0, 1.0), ("defaults", 0.3, 0.3)):
        for source, where in ((decoded, "render"), (images, "with decoding")):
            video = PseudoVideo(source, paste_prob=paste, occlusion_prob=occlusion)
            wall, cpu = [], []
            for index in range(40):
                start, start_cpu = time.perf_counter(), time.process_time()
                video.clip(index, rng(index), 4, 256, 3)
                wall.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            wall_ms, cpu_ms = 1000 * float(np.median(wall)), 1000 * float(np.median(cpu))
            lines.append(f"{label:15s} {where:14s} median CPU {cpu_ms:5.1f} ms, wall {wall_ms:5.1f} ms")
            assert cpu_ms < 200  # loose: the machine may be shared
    print("\nPseudoVideo, 4 frames at 256 px, 1 thread:\n" + "\n".join(lines))


def test_a_source_can_give_its_own_number_of_frames(disks):
    """Single images with a pseudo-video source's settings (num_frames 1) beside clips of
    another: each step's T is that of the source it drew."""
    clips, stills = PseudoVideo(disks), PseudoVideo(disks, zoom_prob=1.0)
    sampler = ClipSampler([clips, stills], [1.0, 1.0], seed=0, source_frames=[None, 1])
    lengths = {sampler.batch(step, 2, 4, 32, 1).frames.shape[1] for step in range(12)}
    assert lengths == {1, 4}
    with pytest.raises(ValueError, match="one count >= 1"):
        ClipSampler([clips, stills], [1.0, 1.0], seed=0, source_frames=[0, 1])
    with pytest.raises(ValueError, match="one count >= 1"):
        ClipSampler([clips, stills], [1.0, 1.0], seed=0, source_frames=[1])
