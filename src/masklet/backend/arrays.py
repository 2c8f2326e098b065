"""`ArrayOps`: every array operation the prediction glue performs, as methods of one object per
backend (the model carries it as `model.arrays`).

The glue (session, tracking engine, memory bank, results, image predictor) never tests what kind
of array it holds: it asks the model's `ArrayOps`. Torch models hand out `TorchArrays`
(`masklet.model.arrays`); numpy-fed backends such as ONNX Runtime hand out `NumpyArrays`
(`masklet.backend.numpy_arrays`), so they run where torch is not installed.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import numpy as np

# An array of the backend's own kind (a torch.Tensor, a numpy.ndarray, ...).
Array = Any


def to_numpy(x: Any) -> np.ndarray:
    """A numpy copy-or-view of any array-like: user input (lists, numpy arrays, tensors of any
    device) or a backend's result. Low-precision floats become float32."""
    if not hasattr(x, "detach"):
        return np.asarray(x)
    x = x.detach().cpu()
    return (x.float() if x.is_floating_point() and x.element_size() < 4 else x).numpy()


@runtime_checkable
class ArrayOps(Protocol):
    """Array operations of one backend. `device` is where its arrays live ("cpu" for numpy)."""

    name: str  # "torch" or "numpy": which kind of array this backend computes with
    device: Any
    dtype_name: str  # the compute dtype: "float32", "bfloat16", ...

    def inference(self) -> AbstractContextManager:
        """A context in which no gradients are recorded."""
        ...

    def asarray(self, values: Any, integer: bool = False) -> Array:
        """An array of this kind from a list, numpy array or array of this kind (int64 where
        `integer`, float32 otherwise; arrays of this kind keep their dtype)."""
        ...

    def as_float(self, x: Array) -> Array:
        """`x` as float32 where it is."""
        ...

    def full(self, shape: tuple, value: float) -> Array:
        """A float32 array filled with `value`."""
        ...

    def compute(self, x: Array) -> Array:
        """`x` in the model's compute dtype and on its device (stored memories decoded)."""
        ...

    def memory(self, x: Array, low_precision: bool) -> Array:
        """How a memory is kept: bfloat16 when `low_precision`, else as it is."""
        ...

    def store(self, x: Array) -> Array:
        """`x` moved where outputs are kept (the storage device)."""
        ...

    def with_storage(self, device: Any) -> ArrayOps:
        """The same operations keeping outputs on `device` (None: the model's device)."""
        ...

    def nbytes(self, x: Array) -> int: ...

    def clamp(self, x: Array, limit: float) -> Array:
        """Values clipped to [-limit, limit]."""
        ...

    def cat(self, xs: list, axis: int = 0) -> Array: ...

    def stack(self, xs: list, axis: int = 0) -> Array: ...

    def where(self, condition: Array, x: Array, y: Array | float) -> Array: ...

    def minimum(self, x: Array, value: float) -> Array: ...

    def arange(self, count: int) -> Array: ...

    def repeat_rows(self, x: Array, count: int) -> Array:
        """[1, ...] -> [count, ...] (a view where the backend can)."""
        ...

    def repeat_interleave(self, x: Array, repeats: int) -> Array:
        """Each row repeated `repeats` times in place: [a, b] -> [a, a, b, b]."""
        ...

    def tokens(self, feats: Array) -> Array:
        """Feature maps [B, C, h, w] -> token sequences [B, hw, C]."""
        ...

    def feature_maps(self, seq: Array, height: int, width: int) -> Array:
        """Token sequences [B, hw, C] -> feature maps [B, C, h, w]."""
        ...

    def resize(self, x: Array, size: tuple[int, int], antialias: bool = False) -> Array:
        """Bilinear resize of float maps [..., h, w] -> float32 [..., H, W] with half-pixel
        centres (torch's `interpolate(align_corners=False)`); `antialias` widens the kernel
        when shrinking."""
        ...


def under_inference(method):
    """Run a method of an object with an `arrays: ArrayOps` attribute inside
    `self.arrays.inference()`."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.arrays.inference():
            return method(self, *args, **kwargs)

    return wrapper
