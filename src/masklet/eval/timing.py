"""Timing helpers shared by Masklet's speed measurement (`speed.py`) and the reference's
(`reference_speed.py`, run by the reference's own Python, which loads this file by path): it
imports nothing from masklet."""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class SpeedRecord:
    """One side's timings of one model in one dtype."""

    side: str  # "masklet", "masklet-onnx" or "reference"
    model: str
    dtype: str
    device: str
    parameters: int
    encode_ms: float
    decode_ms: float
    frame_ms: dict[int, float] = field(default_factory=dict)  # objects -> ms per frame
    peak_mib: float = 0.0
    weights_mb: float = 0.0  # the checkpoint's size in this dtype (set by the benchmark run)
    settings: dict = field(default_factory=dict)  # what the side ran: dtype, backend, ... (set by the benchmark run)
    mask_iou_vs_float32: float | None = None  # lowest IoU of its masks with Masklet float32's (benchmark run)

    @property
    def frames_per_second(self) -> dict[int, float]:
        return {n: 1000.0 / ms for n, ms in self.frame_ms.items()}

    def object_frame_fit(self) -> tuple[float, float] | None:
        """(ms per object-frame, shared ms per frame): the least-squares line through
        frame_ms over object counts; None with fewer than two counts."""
        if len(self.frame_ms) < 2:
            return None
        counts = np.array(list(self.frame_ms), float)
        per_object, shared = np.polyfit(counts, np.array(list(self.frame_ms.values())), 1)
        return float(per_object), float(shared)

    def to_dict(self) -> dict:
        fit = self.object_frame_fit()
        return {
            **asdict(self), "frames_per_second": self.frames_per_second,
            "object_frame_ms": None if fit is None else fit[0], "shared_frame_ms": None if fit is None else fit[1],
        }

    @classmethod
    def from_dict(cls, data: dict) -> SpeedRecord:
        fields = {k: data[k] for k in ("side", "model", "dtype", "device", "parameters", "encode_ms", "decode_ms",
                                       "peak_mib", "weights_mb")}
        return cls(**fields, frame_ms={int(n): ms for n, ms in data["frame_ms"].items()},
                   settings=data.get("settings", {}), mask_iou_vs_float32=data.get("mask_iou_vs_float32"))


def click_grid(num_objects: int, width: int, height: int) -> list[list[float]]:
    """N well-spread clicks on a width x height frame (a 4-column grid, rows shifted for more)."""
    cols, rows = 4, 2
    points = []
    for i in range(num_objects):
        col, row, layer = i % cols, i // cols % rows, i // (cols * rows)
        x = (col + 0.5 + 0.2 * layer) / cols * width
        y = (row + 0.5 + 0.2 * layer) / rows * height
        points.append([min(x, width - 1.0), min(y, height - 1.0)])
    return points


def median_ms(fn, repeats: int, synchronize) -> float:
    """Median wall time of `fn()` in ms over `repeats` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        fn()
        synchronize()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def full_memory_frame_ms(propagation, num_maskmem: int, synchronize) -> float:
    """Run `propagation` (an iterator yielding once per frame from frame 0) and return the
    mean ms of its frames at full memory (index >= num_maskmem)."""
    times, start = [], time.perf_counter()
    for _ in propagation:
        synchronize()
        now = time.perf_counter()
        times.append(now - start)
        start = now
    full = times[num_maskmem:]
    if not full:
        raise ValueError(f"{len(times)} frames never fill the memory; use more than {num_maskmem} frames")
    return 1000.0 * float(np.mean(full))


def peak_memory_mib(device: str) -> float:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
