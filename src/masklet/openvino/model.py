"""`masklet.load_model(folder, backend="openvino")`: an export folder compiled by OpenVINO."""

from __future__ import annotations

from pathlib import Path

from masklet.errors import OptionError
from masklet.exported.model import ExportedSAM2Model, dtype_name, export_manifest
from masklet.openvino.graphs import PRECISION_HINTS, OpenVinoGraphs, cpu_has_native_bfloat16, openvino_core


def load_openvino_model(folder, config=None, device="cpu", dtype=None, threads: int | None = None) -> ExportedSAM2Model:
    """Check what the backend cannot honour, then open the export folder (`threads`:
    OpenVINO's inference threads, default all cores)."""
    precision = check_openvino_options(device=device, dtype=dtype)
    manifest = export_manifest(folder, "openvino", config, device)
    return ExportedSAM2Model(OpenVinoGraphs(Path(folder), manifest, precision, threads))


def check_openvino_options(*, device="cpu", dtype=None) -> str:
    """The one check of the device and dtype -> the precision to compile for: float32 (the
    default, the exact path), or bfloat16 on a CPU that computes it natively."""
    precision = dtype_name(dtype)
    if str(device) != "cpu" or precision not in PRECISION_HINTS:
        raise OptionError(
            f"backend='openvino' runs on the cpu in {' or '.join(PRECISION_HINTS)}, not {device} / {dtype}; "
            "use the cpu and one of those dtypes"
        )
    if precision == "bfloat16" and not cpu_has_native_bfloat16(openvino_core()):
        raise OptionError(
            "backend='openvino' with dtype bfloat16 needs a CPU with native bfloat16 (AVX512-BF16 or AMX), which this "
            "one lacks (OpenVINO would emulate it, slower than float32); use dtype float32"
        )
    return precision
