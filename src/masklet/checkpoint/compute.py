"""Which arithmetic a model should run in on this machine: what the CPU (or GPU) offers, and
the rule behind `load_model(..., dtype="auto")`.

The rule, measured on sam2.1-hiera-tiny (README, "Speed"):
  CUDA   bfloat16 where the GPU supports it, else float32;
  CPU    bfloat16 where the CPU computes it natively (AVX512-BF16 or AMX: oneDNN's bfloat16
         GEMMs and attention then run several times faster than float32); else int8 image
         encoder where torch's x86 int8 GEMM kernels run (AVX2, VNNI): the Hiera trunk's
         linear layers dynamically quantized (`masklet.model.int8`); else float32;
  MPS    float32 (other types are not measured there).
float32 is always the bit-exact parity path; auto only ever picks a faster one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

# /proc/cpuinfo flags that decide or explain the choice.
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
# The torch dynamic-quantization engines with x86 int8 GEMM kernels (fbgemm, and "x86" built on it).
X86_INT8_ENGINES = ("x86", "fbgemm")
# torch.backends.cpu.get_cpu_capability() values with AVX2 or better.
AVX2_CAPABILITIES = ("AVX2", "AVX512")


def cpu_has_native(dtype: torch.dtype) -> bool:
    """Whether this CPU computes `dtype` natively (bfloat16: AVX512-BF16 or AMX; float16:
    AVX512-FP16 or AMX-FP16) rather than by slow emulation."""
    if dtype == torch.bfloat16:
        return torch.ops.mkldnn._is_mkldnn_bf16_supported()
    if dtype == torch.float16:
        return torch.ops.mkldnn._is_mkldnn_fp16_supported()
    return True


@dataclass(frozen=True)
class CpuFeatures:
    """What this CPU offers the model's arithmetic (tests make their own to cover other CPUs)."""

    capability: str  # torch.backends.cpu.get_cpu_capability(): "AVX512", "AVX2", "DEFAULT", ...
    flags: frozenset[str]  # the CPU_FLAGS /proc/cpuinfo lists
    native_bfloat16: bool  # oneDNN computes bfloat16 natively (AVX512-BF16 or AMX)
    int8_engines: tuple[str, ...]  # torch's quantized engines with x86 int8 kernels that this build has

    @classmethod
    def detect(cls) -> CpuFeatures:
        return cls(
            capability=torch.backends.cpu.get_cpu_capability(),
            flags=read_cpu_flags(),
            native_bfloat16=cpu_has_native(torch.bfloat16),
            int8_engines=tuple(e for e in X86_INT8_ENGINES if e in torch.backends.quantized.supported_engines),
        )

    @property
    def int8_kernels(self) -> bool:
        """torch's x86 int8 GEMMs run here: an fbgemm-based engine and AVX2 or better."""
        return bool(self.int8_engines) and self.capability in AVX2_CAPABILITIES

    def int8_instructions(self) -> str:
        """The instructions the int8 GEMMs use here, in words (FBGEMM_ENABLE_INSTRUCTIONS, when
        set, holds FBGEMM to an older set than the CPU's)."""
        forced = os.environ.get("FBGEMM_ENABLE_INSTRUCTIONS")
        if forced:
            return f"{forced} (FBGEMM_ENABLE_INSTRUCTIONS)"
        vnni = [f for f in ("amx_int8", "avx512_vnni", "avx_vnni") if f in self.flags]
        return "/".join(vnni).upper() if vnni else "AVX2"


def read_cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU_FLAGS of the first processor in /proc/cpuinfo (empty where there is none: not Linux)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split()) & frozenset(CPU_FLAGS)
    return frozenset()


@dataclass(frozen=True)
class ComputeSetting:
    """The arithmetic a model runs in: `dtype` is "float32", "bfloat16", "float16" or "int8"
    (an int8 image encoder in an otherwise float32 model); `reason` says why it was chosen."""

    device: str
    dtype: str
    reason: str

    @property
    def weights_dtype(self) -> torch.dtype:
        """The dtype the model's floating-point weights are cast to before any quantization."""
        return torch.float32 if self.dtype == "int8" else getattr(torch, self.dtype)


def choose_setting(device="cpu", cpu: CpuFeatures | None = None) -> ComputeSetting:
    """The fastest accurate setting for `device` (what `dtype="auto"` loads); `cpu` defaults to
    this machine's `CpuFeatures.detect()`."""
    device_type = torch.device(device).type
    if device_type == "cuda":
        if torch.cuda.is_bf16_supported():
            return ComputeSetting(str(device), "bfloat16", "the GPU computes bfloat16")
        return ComputeSetting(str(device), "float32", "the GPU has no bfloat16 arithmetic")
    if device_type != "cpu":
        return ComputeSetting(str(device), "float32", f"lower precision is not measured on {device_type}")
    cpu = CpuFeatures.detect() if cpu is None else cpu
    if cpu.native_bfloat16:
        native = [f.upper() for f in ("amx_bf16", "avx512_bf16") if f in cpu.flags] or ["oneDNN"]
        return ComputeSetting("cpu", "bfloat16", f"the CPU computes bfloat16 natively ({', '.join(native)})")
    if cpu.int8_kernels:
        return ComputeSetting("cpu", "int8", "no native bfloat16 on this CPU; the image encoder's linear layers run "
                                             f"as int8 GEMMs ({cpu.int8_instructions()})")
    return ComputeSetting("cpu", "float32", "this CPU has neither native bfloat16 nor AVX2 int8 GEMM kernels")


def system_report(cpu: CpuFeatures | None = None) -> list[str]:
    """Lines describing this machine's arithmetic and what `dtype="auto"` picks on each device."""
    cpu = CpuFeatures.detect() if cpu is None else cpu
    flags = [f for f in CPU_FLAGS if f in cpu.flags]
    lines = [
        f"torch           {torch.__version__}, {torch.get_num_threads()} CPU threads",
        f"cpu capability  {cpu.capability}",
        f"cpu flags       {' '.join(flags) or '(none of ' + ', '.join(CPU_FLAGS) + ')'}",
        f"bfloat16        {'native' if cpu.native_bfloat16 else 'emulated (slow)'}",
        f"int8 kernels    {'yes (' + ', '.join(cpu.int8_engines) + ')' if cpu.int8_kernels else 'no'}",
    ]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        setting = choose_setting(device, cpu if device == "cpu" else None)
        lines.append(f"auto on {device:<7} {setting.dtype}: {setting.reason}")
    return lines
