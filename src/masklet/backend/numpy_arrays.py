"""`NumpyArrays`: the `ArrayOps` of backends that compute with numpy float32 on the CPU (the
ONNX Runtime backend). Nothing here imports torch."""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from masklet.backend.arrays import to_numpy


class NumpyArrays:
    """Arrays of a model that computes with numpy float32 on the CPU. Memories are kept as
    bfloat16 bit patterns (uint16), rounded to nearest even as torch rounds, so they take the
    bytes and hold the values the torch backend's do."""

    name = "numpy"
    device = "cpu"
    dtype_name = "float32"

    def inference(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def asarray(self, values, integer: bool = False) -> np.ndarray:
        values = values if isinstance(values, (list, tuple)) else to_numpy(values)
        return np.asarray(values, dtype=np.int64 if integer else np.float32)

    def as_float(self, x) -> np.ndarray:
        return x.astype(np.float32, copy=False)

    def full(self, shape: tuple, value: float) -> np.ndarray:
        return np.full(shape, value, dtype=np.float32)

    def compute(self, x) -> np.ndarray:
        if x.dtype == np.uint16:
            return (x.astype(np.uint32) << 16).view(np.float32)
        return x.astype(np.float32, copy=False)

    def memory(self, x, low_precision: bool) -> np.ndarray:
        if not low_precision:
            return x
        bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
        rounded = bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))
        return (rounded >> 16).astype(np.uint16)

    def store(self, x) -> np.ndarray:
        return x

    def with_storage(self, device) -> NumpyArrays:
        if device is not None and str(device) != "cpu":
            raise ValueError(f"a numpy backend keeps its outputs on the cpu, not {device}")
        return self

    def nbytes(self, x) -> int:
        return int(x.nbytes)

    def clamp(self, x, limit: float) -> np.ndarray:
        return np.clip(x, -limit, limit)

    def cat(self, xs: list, axis: int = 0) -> np.ndarray:
        return np.concatenate(xs, axis)

    def stack(self, xs: list, axis: int = 0) -> np.ndarray:
        return np.stack(xs, axis)

    def where(self, condition, x, y) -> np.ndarray:
        return np.where(condition, x, np.float32(y) if isinstance(y, float) else y)

    def minimum(self, x, value: float) -> np.ndarray:
        return np.minimum(x, np.float32(value))

    def arange(self, count: int) -> np.ndarray:
        return np.arange(count)

    def repeat_rows(self, x, count: int) -> np.ndarray:
        return np.broadcast_to(x, (count, *x.shape[1:]))

    def repeat_interleave(self, x, repeats: int) -> np.ndarray:
        return np.repeat(x, repeats, axis=0)

    def tokens(self, feats) -> np.ndarray:
        return feats.reshape(*feats.shape[:2], -1).transpose(0, 2, 1)

    def feature_maps(self, seq, height: int, width: int) -> np.ndarray:
        maps = seq.transpose(0, 2, 1)
        return maps.reshape(*maps.shape[:2], height, width)

    def resize(self, x, size: tuple[int, int], antialias: bool = False) -> np.ndarray:
        if tuple(x.shape[-2:]) == tuple(size):
            return x.astype(np.float32, copy=False)
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
