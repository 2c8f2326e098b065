"""Pseudo-videos: a still image with object masks turned into a T-frame clip, so a video model
can be trained from image datasets.

A clip is rendered at S x S, all frames at once (`affine_grid` / `grid_sample` batched over
frames; masks warped bilinearly and thresholded at 0.5, so they stay aligned with the pixels):
  camera     the image moves along a smooth random affine trajectory (translation, rotation,
             scale, shear): a random start pose, then per-frame increments around a random
             constant velocity, accumulated; uncovered borders are black (as SAM 2's affine
             augmentation fills them)
  paste      with probability `paste_prob` the objects are cut out by their masks and pasted,
             with a trajectory of their own, onto another image of the source moving with the
             camera trajectory
  occluder   with probability `occlusion_prob` an object of another image (cut out by its mask)
             sweeps across the frames through the targets' centre at mid-clip; target pixels
             under it are cleared, so a target can be all False on some frames
  zoom       with probability `zoom_prob` the view starts closer: the image is magnified about
             the objects' centroid (kept in view, the view kept inside the image) so they
             cover a random fraction in `zoom_area` of the frame (at most `max_zoom` x; never
             shrunk), as a tracked object fills a video frame far more than most annotated
             objects fill a photo; such a clip is rendered from the image read at 2 S, so
             magnified frames stay sharp
  photometric  per-clip brightness / contrast / saturation factors with small per-frame
             changes, and an occasional Gaussian blur of single frames
Objects not visible on the first frame are dropped; if none is, the clip is drawn again (up to
`attempts` times, the last starting at the still image's own pose with no paste or occluder,
where every object is visible).

Speed, 4 frames at 256 x 256, 1 thread, median CPU time per clip on the 2-core development
machine while two other processes kept both cores busy (so the numbers are upper bounds;
`tests/train/test_pseudo_video.py::test_speed -s` prints them):
  rendering from decoded images:  camera only 8-11 ms, defaults 14-15 ms, paste + occluder 22-29 ms
  with decoding COCO_MVal files:  camera only 20-25 ms, defaults 27-34 ms, paste + occluder 50-60 ms
Decoding dominates: paste and occluder each read one more image (JPEG + mask PNG, ~10 ms).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from masklet.train.data import Clip, ImageSample, normalise_frames

_LUMA = torch.tensor([[0.299, 0.587, 0.114]]).T  # [3, 1]: grey = luma . rgb


@dataclass(frozen=True)
class Motion:
    """Bounds of an affine pose or of its per-frame change, each drawn uniformly in +-bound."""

    translation: float  # fraction of the frame side
    rotation: float  # degrees
    scale: float  # log-scale (0.04: about 4%)
    shear: float  # degrees

    def bounds(self) -> np.ndarray:
        """[5]: bounds of (x shift, y shift, rotation, log-scale, shear)."""
        return np.array([self.translation, self.translation, self.rotation, self.scale, self.shear])


def random_trajectory(rng: np.random.Generator, num_frames: int, start: Motion | None, step: Motion) -> np.ndarray:
    """Poses [T, 5] (x shift, y shift, rotation, log-scale, shear): a start pose within `start`
    (identity when None), then per-frame increments within `step`, each a random constant
    velocity plus a little per-frame change."""
    step_bounds = step.bounds()
    pose = np.zeros(5) if start is None else rng.uniform(-1, 1, 5) * start.bounds()
    velocity = rng.uniform(-1, 1, 5) * step_bounds
    change = rng.uniform(-0.25, 0.25, (num_frames - 1, 5)) * step_bounds
    increments = np.clip(velocity + change, -step_bounds, step_bounds)
    return pose + np.concatenate([np.zeros((1, 5)), np.cumsum(increments, axis=0)])


def pose_matrices(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poses [T, 5] -> the forward maps x -> A x + b in normalised coordinates ([-1, 1] over
    the frame, centre 0): A [T, 2, 2] = scale * rotation * shear, b [T, 2]."""
    angle, shear = np.deg2rad(poses[:, 2]), np.tan(np.deg2rad(poses[:, 4]))
    cos, sin, scale = np.cos(angle), np.sin(angle), np.exp(poses[:, 3])
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # [T, 2, 2]
    shearing = np.zeros_like(rotation)
    shearing[:, 0, 0] = shearing[:, 1, 1] = 1
    shearing[:, 0, 1] = shear
    return scale[:, None, None] * rotation @ shearing, 2 * poses[:, :2]


def sampling_theta(linear: np.ndarray, offset: np.ndarray) -> torch.Tensor:
    """Forward maps x -> A x + b (A [T, 2, 2], b [T, 2]) -> `affine_grid`'s theta [T, 2, 3],
    which maps output to input coordinates: [A^-1, -A^-1 b]."""
    inverse = np.linalg.inv(linear)
    return torch.from_numpy(np.concatenate([inverse, -inverse @ offset[:, :, None]], axis=2)).float()


@functools.lru_cache(maxsize=8)
def _base_grid(size: int) -> torch.Tensor:
    """[S*S, 3]: the (x, y, 1) normalised coordinates of the pixel centres of an S x S frame."""
    centres = (torch.arange(size, dtype=torch.float32) * 2 + 1) / size - 1
    ys, xs = torch.meshgrid(centres, centres, indexing="ij")
    return torch.stack([xs, ys, torch.ones_like(xs)], -1).view(size * size, 3)


def warp(layer: torch.Tensor, theta: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """A layer [C, L, L] seen through T sampling maps (theta [T, 2, 3]) -> [T, C, S, S], S =
    `size` (default L; the maps are in normalised coordinates, so L may differ from S)
    (bilinear, zeros outside). The grid is `affine_grid`'s (align_corners=False), computed as
    one product with a cached base grid (3x faster than `affine_grid` on one core)."""
    frames, size = theta.shape[0], size or layer.shape[-1]
    grid = torch.matmul(_base_grid(size), theta.transpose(1, 2)).view(frames, size, size, 2)
    return F.grid_sample(layer.expand(frames, -1, -1, -1), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False)


def zoomed(linear: np.ndarray, offset: np.ndarray, scale: float, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward maps (A [T, 2, 2], b [T, 2]) preceded by a magnification x -> scale (x - centre)
    (normalised coordinates): (scale A, b - scale A centre)."""
    return scale * linear, offset - scale * linear @ centre


def _layer_theta(maps: tuple[np.ndarray, np.ndarray], magnify: tuple[float, np.ndarray] | None) -> torch.Tensor:
    """Sampling maps [T, 2, 3] of a trajectory's forward maps, after the zoom `magnify`
    ((scale, centre) or None)."""
    return sampling_theta(*(zoomed(*maps, *magnify) if magnify else maps))


def _centre(mask: torch.Tensor) -> np.ndarray:
    """The centroid of a bool mask [S, S] in normalised (x, y) coordinates; 0 when empty."""
    size = mask.shape[-1]
    ys, xs = torch.nonzero(mask, as_tuple=True)
    if not len(xs):
        return np.zeros(2)
    return np.array([xs.float().mean().item(), ys.float().mean().item()]) * 2 / size + 1 / size - 1


def _gaussian_blur(frame: torch.Tensor, sigma: float) -> torch.Tensor:
    """[3, S, S] -> the same blurred by a separable Gaussian (reflect padding)."""
    radius = max(1, math.ceil(2 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).repeat(3, 1, 1)  # [3, 1, K]
    out = F.conv2d(F.pad(frame[None], (radius, radius, 0, 0), mode="reflect"), kernel[:, :, None], groups=3)
    out = F.conv2d(F.pad(out, (0, 0, radius, radius), mode="reflect"), kernel[:, :, :, None], groups=3)
    return out[0]


class PseudoVideo:
    """Video clips from an image source (`ImageMaskFolder`, `CocoJsonImages`: anything with
    `__len__`, `sample`, `image` and `name`); see the module docstring for what is done.

    start / step: camera (and pasted objects') pose bounds at frame 0 / per-frame change.
    occluder_scale: the occluder's scale range; occluder_sweep: how far from the targets'
    centre (fraction of the frame side) it starts and ends. brightness / contrast / saturation:
    per-clip factor ranges (1 +- value), frame_jitter: the per-frame change added to them;
    blur_prob: per-frame probability of a Gaussian blur with sigma in blur_sigma (pixels).
    zoom_prob / zoom_area / max_zoom: see "zoom" in the module docstring (0: never).
    attempts: draws of a clip whose first frame shows an object, the last one plain (see above).
    """

    is_video = True

    def __init__(self, images, *, start: Motion = Motion(0.05, 10.0, 0.1, 4.0),
                 step: Motion = Motion(0.04, 4.0, 0.04, 1.0), paste_prob: float = 0.3,
                 occlusion_prob: float = 0.3, occluder_scale: tuple[float, float] = (0.5, 1.2),
                 occluder_sweep: tuple[float, float] = (0.15, 0.5), brightness: float = 0.15,
                 contrast: float = 0.15, saturation: float = 0.15, frame_jitter: float = 0.03,
                 blur_prob: float = 0.05, blur_sigma: tuple[float, float] = (0.5, 1.5), zoom_prob: float = 0.0,
                 zoom_area: tuple[float, float] = (0.1, 0.4), max_zoom: float = 3.0, attempts: int = 4):
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        if not 0 < zoom_area[0] <= zoom_area[1] <= 1 or max_zoom < 1:
            raise ValueError(f"zoom_area must be 0 < low <= high <= 1 and max_zoom >= 1, got {zoom_area}, {max_zoom}")
        self.images, self.start, self.step = images, start, step
        self.paste_prob, self.occlusion_prob = paste_prob, occlusion_prob
        self.occluder_scale, self.occluder_sweep = occluder_scale, occluder_sweep
        self.brightness, self.contrast, self.saturation = brightness, contrast, saturation
        self.frame_jitter, self.blur_prob, self.blur_sigma = frame_jitter, blur_prob, blur_sigma
        self.zoom_prob, self.zoom_area, self.max_zoom = zoom_prob, tuple(zoom_area), max_zoom
        self.attempts = attempts

    def __len__(self) -> int:
        return len(self.images)

    def clip(self, index: int, rng: np.random.Generator, num_frames: int, image_size: int,
             max_objects: int) -> Clip:
        """A T-frame pseudo-video of image `index` with up to `max_objects` of its objects."""
        if num_frames < 1:
            raise ValueError(f"num_frames must be at least 1, got {num_frames}")
        zoom = self.zoom_prob > 0 and rng.random() < self.zoom_prob
        sample = self.images.sample(index, rng, 2 * image_size if zoom else image_size, max_objects)
        magnify = self._magnification(sample.masks.any(0), rng) if zoom else None
        for attempt in range(self.attempts):
            frames, masks, name = self._render(sample, index, rng, num_frames, image_size, magnify,
                                               attempt == self.attempts - 1)
            visible = masks[0].flatten(1).any(1)  # [N]
            if visible.any():
                break
        frames = self._photometric(frames, rng)
        return Clip(normalise_frames(frames), masks[:, visible], name)

    def _other(self, index: int, rng: np.random.Generator) -> int:
        """A random index other than `index` (itself when the source has one image)."""
        count = len(self.images)
        return index if count == 1 else (index + 1 + int(rng.integers(count - 1))) % count

    def _magnification(self, objects: torch.Tensor, rng: np.random.Generator) -> tuple[float, np.ndarray]:
        """(scale, centre) bringing the objects (bool [L, L], their union) to a random fraction
        of the frame in `zoom_area`, about their centroid moved just enough for the view
        (centre +- 1 / scale) to stay inside the image; the view still holds the centroid."""
        area = max(objects.float().mean().item(), 1e-6)
        scale = float(np.clip(math.sqrt(rng.uniform(*self.zoom_area) / area), 1.0, self.max_zoom))
        return scale, np.clip(_centre(objects), 1 / scale - 1, 1 - 1 / scale)

    def _render(self, sample: ImageSample, index: int, rng: np.random.Generator, num_frames: int, size: int,
                magnify: tuple[float, np.ndarray] | None, still: bool) -> tuple[torch.Tensor, torch.Tensor, str]:
        """(frames [T, 3, S, S] in [0, 1], masks [T, N, S, S] bool, name); `magnify`: (scale,
        centre) of the zoom applied to the sample's layer (read at 2 S) or None; `still`:
        start from the image's own pose, with no paste or occluder."""
        name = sample.name
        start = None if still else self.start
        camera = pose_matrices(random_trajectory(rng, num_frames, start, self.step))
        layer = torch.cat([sample.image, sample.masks.float()])  # [3 + N, L, L]
        if not still and rng.random() < self.paste_prob:
            other = self._other(index, rng)
            background = warp(self.images.image(other, size), sampling_theta(*camera))  # [T, 3, S, S]
            motion = pose_matrices(random_trajectory(rng, num_frames, self.start, self.step))
            moved = warp(layer, _layer_theta(motion, magnify), size)  # [T, 3 + N, S, S]
            frames = background.lerp_(moved[:, :3], moved[:, 3:].amax(1, keepdim=True))
            name += f" on {self.images.name(other)}"
        else:
            moved = warp(layer, _layer_theta(camera, magnify), size)
            frames = moved[:, :3]
        masks = moved[:, 3:] > 0.5  # [T, N, S, S]
        if not still and rng.random() < self.occlusion_prob:
            occluder = self.images.sample(self._other(index, rng), rng, size, 1)
            theta = self._sweep(rng, num_frames, occluder.masks[0], masks.any(1))
            moved = warp(torch.cat([occluder.image, occluder.masks.float()]), theta)  # [T, 4, S, S]
            frames = frames.lerp_(moved[:, :3], moved[:, 3:])
            masks &= moved[:, 3:] <= 0.5
            name += f" behind {occluder.name}"
        return frames, masks, name

    def _sweep(self, rng: np.random.Generator, num_frames: int, occluder: torch.Tensor,
               targets: torch.Tensor) -> torch.Tensor:
        """Sampling maps [T, 2, 3] moving the occluder (bool [S, S]) along a straight line
        through the centre of the targets (bool [T, S, S]) at the middle frame, with a random
        scale and a slowly changing rotation."""
        middle = targets[num_frames // 2] if targets[num_frames // 2].any() else targets[0]
        centre, own_centre = _centre(middle), _centre(occluder)
        direction = rng.uniform(0, 2 * math.pi)
        reach = 2 * rng.uniform(*self.occluder_sweep) * np.array([math.cos(direction), math.sin(direction)])
        progress = np.linspace(-1, 1, num_frames) if num_frames > 1 else np.ones(1)
        path = centre + progress[:, None] * reach  # [T, 2]
        angle = np.deg2rad(rng.uniform(-30, 30) + rng.uniform(-1, 1) * self.step.rotation * np.arange(num_frames))
        scale = rng.uniform(*self.occluder_scale)
        cos, sin = np.cos(angle), np.sin(angle)
        linear = scale * np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # [T, 2, 2]
        return sampling_theta(linear, path - linear @ own_centre)

    def _photometric(self, frames: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """Brightness, contrast and saturation per frame, then occasional blur: [T, 3, S, S] in
        [0, 1] -> the same.

        With b, c, s the frame's factors, g = luma . x and m its frame mean, brightness
        (b x), contrast about the mean grey and saturation about each pixel's grey compose to
        one colour map: x -> b c (s x + (1 - s) g) + b (1 - c) m, applied as one batched
        matrix product and clamped to [0, 1]."""
        count = frames.shape[0]

        def factors(amount: float) -> torch.Tensor:  # [T, 1, 1]
            per_frame = rng.uniform(-amount, amount) + rng.uniform(-self.frame_jitter, self.frame_jitter, count)
            return torch.from_numpy(1 + per_frame).float().view(count, 1, 1)

        brightness, contrast, saturation = factors(self.brightness), factors(self.contrast), factors(self.saturation)
        pixels = frames.flatten(2)  # [T, 3, S*S]
        mean_grey = pixels.mean(2, keepdim=True).transpose(1, 2) @ _LUMA  # [T, 1, 1]
        colour = saturation * torch.eye(3) + (1 - saturation) * _LUMA.T  # [T, 3, 3]: rows x -> s x + (1 - s) g
        offset = (brightness * (1 - contrast) * mean_grey).expand(count, 3, 1)  # [T, 3, 1]
        out = torch.baddbmm(offset, brightness * contrast * colour, pixels).clamp_(0, 1).view_as(frames)
        for t in np.flatnonzero(rng.random(count) < self.blur_prob).tolist():
            out[t] = _gaussian_blur(out[t], rng.uniform(*self.blur_sigma)).clamp_(0, 1)
        return out


def pseudo_video_settings(settings: dict | bool) -> dict:
    """A training config's `pseudo_video:` value -> PseudoVideo's keyword arguments: `true`
    for the defaults, or a mapping of its settings (`start` / `step` as mappings of Motion's
    fields; ranges as two-item lists), e.g.
    `{step: {translation: 0.02, rotation: 2.0, scale: 0.02, shear: 0.5}, occlusion_prob: 0.1}`.
    Raises ValueError on anything else."""
    if settings is True:
        return {}
    if not isinstance(settings, dict):
        raise ValueError(f"pseudo_video is true, false or a mapping of settings, got {settings!r}")
    known = [name for name in inspect.signature(PseudoVideo.__init__).parameters if name not in ("self", "images")]
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ValueError(f"unknown pseudo_video settings {unknown}; known: {known}")
    motion_fields = [f.name for f in dataclasses.fields(Motion)]
    values = {}
    for name, value in settings.items():
        if name in ("start", "step"):
            if not isinstance(value, dict) or sorted(value) != sorted(motion_fields):
                raise ValueError(f"pseudo_video {name}: give all of {motion_fields} as a mapping, got {value!r}")
            value = Motion(**{k: float(v) for k, v in value.items()})
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return values


def pseudo_video_from_settings(images, settings: dict | bool) -> PseudoVideo:
    """A PseudoVideo of `images` from a training config's `pseudo_video:` value (see
    pseudo_video_settings)."""
    return PseudoVideo(images, **pseudo_video_settings(settings))
