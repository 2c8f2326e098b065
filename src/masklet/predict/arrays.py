"""The array operations of the tracking glue, for torch tensors and numpy arrays alike.

The session, the memory bank and the tracking engine hold whatever arrays their model
computes with: torch tensors for `SAM2Model`, numpy arrays for the ONNX Runtime backend, which
must run where torch is not installed. So nothing here imports torch unless it is handed a
tensor (or a torch model's `TorchArrays` is made). Functions dispatch on the array they get;
`arrays_for(model)` gives the per-model operations that create arrays (on the model's device,
in its dtype) and keep memories in bfloat16.
"""

from __future__ import annotations

import contextlib
import functools
import sys

import numpy as np


def is_numpy(x) -> bool:
    return isinstance(x, np.ndarray)


def to_numpy(x) -> np.ndarray:
    """A numpy copy-or-view of a tensor or array-like (float32 for low-precision tensors)."""
    if not hasattr(x, "detach"):
        return np.asarray(x)
    x = x.detach().cpu()
    return (x.float() if x.is_floating_point() and x.element_size() < 4 else x).numpy()


def like(array: np.ndarray, template):
    """A numpy array as the kind of `template`: itself, or a tensor on its device in its dtype."""
    if is_numpy(template):
        return array.astype(template.dtype, copy=False)
    return sys.modules["torch"].from_numpy(array).to(template.device, template.dtype)


def nbytes(x) -> int:
    return int(x.nbytes) if is_numpy(x) else x.numel() * x.element_size()


def empty_like_rows(template, rows: int):
    """An uninitialised array of `rows` rows shaped, typed and placed as `template`'s rows."""
    if is_numpy(template):
        return np.empty((rows, *template.shape[1:]), template.dtype)
    return template.new_empty(rows, *template.shape[1:])


def clamp(x, limit: float):
    """Values clipped to [-limit, limit]."""
    return np.clip(x, -limit, limit) if is_numpy(x) else x.clamp(-limit, limit)


def cat(xs: list, axis: int = 0):
    if is_numpy(xs[0]):
        return np.concatenate(xs, axis)
    return sys.modules["torch"].cat(xs, axis)


def stack(xs: list, axis: int = 0):
    if is_numpy(xs[0]):
        return np.stack(xs, axis)
    return sys.modules["torch"].stack(xs, axis)


def tokens(feats):
    """Feature maps [B, C, h, w] -> token sequences [B, hw, C]."""
    flat = feats.reshape(*feats.shape[:2], -1)
    return flat.transpose(0, 2, 1) if is_numpy(flat) else flat.transpose(1, 2)


def feature_maps(seq, height: int, width: int):
    """Token sequences [B, hw, C] -> feature maps [B, C, h, w]."""
    maps = seq.transpose(0, 2, 1) if is_numpy(seq) else seq.transpose(1, 2)
    return maps.reshape(*maps.shape[:2], height, width)


def resize(x, size: tuple[int, int], antialias: bool = False):
    """Bilinear resize of [..., h, w] float maps to [..., H, W] (half-pixel centres, as torch's
    `interpolate(..., align_corners=False)`; `antialias` widens the kernel when shrinking)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if not is_numpy(x):
        import torch.nn.functional as F

        lead = x.shape[:-2]
        flat = x.float().reshape(-1, 1, *x.shape[-2:])
        out = F.interpolate(flat, size, mode="bilinear", align_corners=False, antialias=antialias)
        return out.reshape(*lead, *size)
    rows = _bilinear_weights(x.shape[-2], size[0], antialias)  # [H, h]
    cols = _bilinear_weights(x.shape[-1], size[1], antialias)  # [W, w]
    return (rows @ x.astype(np.float32) @ cols.T).astype(np.float32)


@functools.lru_cache(maxsize=64)
def _bilinear_weights(size_in: int, size_out: int, antialias: bool) -> np.ndarray:
    """[size_out, size_in]: each output sample as a weighted sum of input samples."""
    scale = size_in / size_out
    weights = np.zeros((size_out, size_in), dtype=np.float64)
    if antialias and scale > 1:
        # A triangle kernel stretched to the input's spacing of output samples, normalised.
        for i in range(size_out):
            center = scale * (i + 0.5)
            first = max(int(center - scale + 0.5), 0)
            last = min(int(center + scale + 0.5), size_in)
            taps = np.arange(first, last)
            w = np.clip(1 - np.abs((taps - center + 0.5) / scale), 0, None)
            weights[i, taps] = w / w.sum()
        return weights.astype(np.float32)
    # Source positions in float32 arithmetic, as torch computes them (closer agreement).
    half = np.float32(0.5)
    source = np.float32(scale) * (np.arange(size_out, dtype=np.float32) + half) - half
    source = np.clip(source, 0, None).astype(np.float64)
    left = np.floor(source).astype(np.int64)
    right = np.minimum(left + 1, size_in - 1)
    frac = source - left
    out = np.arange(size_out)
    np.add.at(weights, (out, left), 1 - frac)
    np.add.at(weights, (out, right), frac)
    return weights.astype(np.float32)


def inference_mode(method):
    """Run `method` under torch's inference mode when torch is loaded, as is."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        torch = sys.modules.get("torch")
        with torch.inference_mode() if torch is not None else contextlib.nullcontext():
            return method(*args, **kwargs)

    return wrapper


class NumpyArrays:
    """Arrays of a model that computes with numpy float32 on the CPU. Memories are kept as
    bfloat16 bit patterns (uint16), rounded to nearest even as torch rounds, so they take the
    bytes and hold the values the torch backend's do."""

    device = "cpu"

    def asarray(self, values, integer: bool = False) -> np.ndarray:
        """An array of the model's kind: int64 where `integer`, else float32."""
        values = values if isinstance(values, (list, tuple)) else to_numpy(values)
        return np.asarray(values, dtype=np.int64 if integer else np.float32)

    def full(self, shape: tuple, value: float) -> np.ndarray:
        return np.full(shape, value, dtype=np.float32)

    def compute(self, x) -> np.ndarray:
        """As the model takes it: float32 (stored bfloat16 memories decoded)."""
        if x.dtype == np.uint16:
            return (x.astype(np.uint32) << 16).view(np.float32)
        return x.astype(np.float32, copy=False)

    def memory(self, x, low_precision: bool) -> np.ndarray:
        """How a memory is kept: bfloat16 bits when `low_precision`, else float32."""
        if not low_precision:
            return x
        bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
        rounded = bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))
        return (rounded >> 16).astype(np.uint16)

    def store(self, x) -> np.ndarray:
        return x

    def repeat_rows(self, x, count: int) -> np.ndarray:
        return np.broadcast_to(x, (count, *x.shape[1:]))

    def repeat_interleave(self, x, repeats: int) -> np.ndarray:
        return np.repeat(x, repeats, axis=0)


class TorchArrays:
    """Arrays of a torch model: tensors on its device in its dtype; memories in bfloat16 (as
    the reference keeps them) when low precision is asked for."""

    def __init__(self, device, dtype, storage_device=None) -> None:
        import torch

        self.torch = torch
        self.device, self.dtype = torch.device(device), dtype
        self.storage_device = torch.device(storage_device) if storage_device is not None else self.device

    def asarray(self, values, integer: bool = False):
        """A tensor on the model's device: tensors keep their dtype, lists and numpy arrays
        become int64 where `integer`, else float32."""
        if isinstance(values, (list, tuple, np.ndarray)):
            dtype = self.torch.int64 if integer else self.torch.float32
            return self.torch.as_tensor(np.asarray(values), device=self.device).to(dtype)
        return values.to(self.device)

    def full(self, shape: tuple, value: float):
        return self.torch.full(shape, value, device=self.device)

    def compute(self, x):
        return x.to(self.device, self.dtype)

    def memory(self, x, low_precision: bool):
        return x.to(self.torch.bfloat16) if low_precision else x

    def store(self, x):
        return x.to(self.storage_device)

    def repeat_rows(self, x, count: int):
        return x.expand(count, *x.shape[1:])

    def repeat_interleave(self, x, repeats: int):
        return x.repeat_interleave(repeats, dim=0)


def arrays_for(model, storage_device=None) -> NumpyArrays | TorchArrays:
    """The array operations of a model: its own `arrays` (the ONNX backend's), else torch's on
    its device and dtype."""
    own = getattr(model, "arrays", None)
    if own is not None:
        return own
    return TorchArrays(model.device, model.dtype, storage_device)
