"""`TorchArrays`: the `ArrayOps` of torch models (tensors on the model's device in its dtype)."""

from __future__ import annotations

from contextlib import AbstractContextManager

import numpy as np
import torch
import torch.nn.functional as F


class TorchArrays:
    """Arrays of a torch model: tensors on its device in its dtype; memories in bfloat16 (as
    the reference keeps them) when low precision is asked for; outputs kept on
    `storage_device` (default: the model's device)."""

    name = "torch"

    def __init__(self, device, dtype: torch.dtype, storage_device=None) -> None:
        self.device, self.dtype = torch.device(device), dtype
        self.storage_device = torch.device(storage_device) if storage_device is not None else self.device
        self.dtype_name = str(dtype).removeprefix("torch.")

    def inference(self) -> AbstractContextManager:
        return torch.inference_mode()

    def asarray(self, values, integer: bool = False) -> torch.Tensor:
        if isinstance(values, (list, tuple, np.ndarray)):
            dtype = torch.int64 if integer else torch.float32
            return torch.as_tensor(np.asarray(values), device=self.device).to(dtype)
        return values.to(self.device)

    def as_float(self, x: torch.Tensor) -> torch.Tensor:
        return x.float()

    def full(self, shape: tuple, value: float) -> torch.Tensor:
        return torch.full(shape, value, device=self.device)

    def compute(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.device, self.dtype)

    def memory(self, x: torch.Tensor, low_precision: bool) -> torch.Tensor:
        return x.to(torch.bfloat16) if low_precision else x

    def store(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.storage_device)

    def with_storage(self, device) -> TorchArrays:
        return TorchArrays(self.device, self.dtype, device)

    def nbytes(self, x: torch.Tensor) -> int:
        return x.numel() * x.element_size()

    def clamp(self, x: torch.Tensor, limit: float) -> torch.Tensor:
        return x.clamp(-limit, limit)

    def cat(self, xs: list, axis: int = 0) -> torch.Tensor:
        return torch.cat(xs, axis)

    def stack(self, xs: list, axis: int = 0) -> torch.Tensor:
        return torch.stack(xs, axis)

    def where(self, condition, x, y) -> torch.Tensor:
        return torch.where(condition, x, y)

    def minimum(self, x: torch.Tensor, value: float) -> torch.Tensor:
        return x.clamp(max=value)

    def arange(self, count: int) -> torch.Tensor:
        return torch.arange(count, device=self.device)

    def repeat_rows(self, x: torch.Tensor, count: int) -> torch.Tensor:
        return x.expand(count, *x.shape[1:])

    def repeat_interleave(self, x: torch.Tensor, repeats: int) -> torch.Tensor:
        return x.repeat_interleave(repeats, dim=0)

    def tokens(self, feats: torch.Tensor) -> torch.Tensor:
        return feats.flatten(2).transpose(1, 2)

    def feature_maps(self, seq: torch.Tensor, height: int, width: int) -> torch.Tensor:
        maps = seq.transpose(1, 2)
        return maps.reshape(*maps.shape[:2], height, width)

    def resize(self, x: torch.Tensor, size: tuple[int, int], antialias: bool = False) -> torch.Tensor:
        if tuple(x.shape[-2:]) == tuple(size):
            return x.float()
        lead = x.shape[:-2]
        flat = x.float().reshape(-1, 1, *x.shape[-2:])
        out = F.interpolate(flat, size, mode="bilinear", align_corners=False, antialias=antialias)
        return out.reshape(*lead, *size)
