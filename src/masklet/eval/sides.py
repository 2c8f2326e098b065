"""The ways of running Masklet that `masklet benchmark` times, one row ("side") each.

A `Side` is a setting of Masklet's own: the arithmetic (`load_model`'s dtype), the
backend and the video memory preset (`VideoPredictor(memory=...)`). `fast_sides` lists every fast setting this machine supports (`--fast`); a new fast
setting is one more entry of `FAST_SETTINGS`, with the test of whether a machine can run it.
The float32 torch side is the baseline that every side's masks are compared with
(`mask_iou_vs_float32`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import asdict, dataclass

from masklet.checkpoint.compute import CpuFeatures


@dataclass(frozen=True)
class Side:
    """One setting of Masklet the benchmark measures."""

    dtype: str = "float32"  # `load_model`'s dtype: float32, bfloat16, float16 or int8
    backend: str = "torch"
    memory: str = "exact"  # a `masklet.predict.memory_bank.MEMORY_PRESETS` name

    @property
    def name(self) -> str:
        """The side column of the table: masklet, or masklet-BACKEND, with " MEMORY memory"
        for another memory preset than exact."""
        name = "masklet" if self.backend == "torch" else f"masklet-{self.backend}"
        return name if self.memory == "exact" else f"{name} {self.memory} memory"

    @property
    def checkpoint_dtype(self) -> str:
        """The dtype of the checkpoint file it loads or is exported from (int8 quantizes a
        float32 model; export backends take float32 graphs and set their own precision)."""
        return "float32" if self.dtype == "int8" or self.exported else self.dtype

    @property
    def exported(self) -> bool:
        """Whether it runs an export folder (`masklet export --format onnx`) instead of a checkpoint."""
        return self.backend != "torch"

    def settings(self) -> dict:
        """What distinguishes this side, as its JSON record carries it."""
        return asdict(self)


BASELINE = Side()


def native_bfloat16(device: str, cpu: CpuFeatures) -> bool:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return device == "cpu" and cpu.native_bfloat16


def int8_kernels(device: str, cpu: CpuFeatures) -> bool:
    return device == "cpu" and cpu.int8_kernels


def any_machine(device: str, cpu: CpuFeatures) -> bool:
    return True


def int8_without_bfloat16(device: str, cpu: CpuFeatures) -> bool:
    """int8 kernels on a CPU that emulates bfloat16: int8 is what `dtype="auto"` picks there."""
    return int8_kernels(device, cpu) and not cpu.native_bfloat16


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def openvino_float32(device: str, cpu: CpuFeatures) -> bool:
    """OpenVINO installed on a CPU without native bfloat16: there its float32 kernels are the
    fast float path (where bfloat16 is native, `openvino_bfloat16` is the faster side)."""
    return device == "cpu" and not cpu.native_bfloat16 and openvino_installed()


def openvino_bfloat16(device: str, cpu: CpuFeatures) -> bool:
    """OpenVINO installed (`masklet[openvino]`) and a CPU that computes bfloat16 natively."""
    return device == "cpu" and cpu.native_bfloat16 and openvino_installed()


def openvino_int8(device: str, cpu: CpuFeatures) -> bool:
    """OpenVINO and NNCF installed (`masklet[openvino-int8]`) and a CPU with int8 kernels (VNNI or AVX2)."""
    return device == "cpu" and cpu.int8_kernels and openvino_installed() and importlib.util.find_spec("nncf") is not None


# Each fast setting and the test of whether a device of this machine runs it fast.
FAST_SETTINGS: tuple[tuple[Side, Callable[[str, CpuFeatures], bool]], ...] = (
    (Side(dtype="bfloat16"), native_bfloat16),
    (Side(dtype="int8"), int8_kernels),
    (Side(memory="fast"), any_machine),
    # auto's dtype with fast memory: the fastest torch setting of the machine
    (Side(dtype="bfloat16", memory="fast"), native_bfloat16),
    (Side(dtype="int8", memory="fast"), int8_without_bfloat16),
    (Side(backend="openvino"), openvino_float32),
    (Side(dtype="bfloat16", backend="openvino"), openvino_bfloat16),
    (Side(dtype="int8", backend="openvino"), openvino_int8),
)


def fast_sides(device: str, cpu: CpuFeatures | None = None) -> list[Side]:
    """The fast settings that `device` on this machine (or one with CPU `cpu`) supports."""
    cpu = CpuFeatures.detect() if cpu is None else cpu
    return [side for side, supported in FAST_SETTINGS if supported(device, cpu)]


def benchmark_sides(dtypes: tuple[str, ...], fast: bool, device: str, cpu: CpuFeatures | None = None) -> list[Side]:
    """The Masklet sides of a run: one per asked dtype, then with `fast` every fast setting of
    the machine, the float32 baseline first; no side twice."""
    sides = [Side(dtype=d) for d in dtypes]
    if fast:
        sides = [BASELINE, *sides, *fast_sides(device, cpu)]
    if BASELINE in sides:
        sides.insert(0, BASELINE)
    return list(dict.fromkeys(sides))
