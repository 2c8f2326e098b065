"""`masklet.load_model(folder, backend="openvino")`: an export folder compiled by OpenVINO."""

from __future__ import annotations

from pathlib import Path

from masklet.errors import CheckpointError, OptionError
from masklet.exported.model import ExportedSAM2Model, dtype_name, export_manifest
from masklet.openvino.graphs import PRECISION_HINTS, OpenVinoGraphs, cpu_has_native_bfloat16, int8_files, openvino_core


def load_openvino_model(folder, config=None, device="cpu", dtype=None, threads: int | None = None) -> ExportedSAM2Model:
    """Check what the backend cannot honour, then open the export folder (`threads`:
    OpenVINO's inference threads, default all cores)."""
    precision = check_openvino_options(device=device, dtype=dtype)
    manifest = export_manifest(folder, "openvino", config, device)
    if precision == "int8":
        check_int8_graphs(Path(folder), manifest)
    return ExportedSAM2Model(OpenVinoGraphs(Path(folder), manifest, precision, threads))


def check_openvino_options(*, device="cpu", dtype=None) -> str:
    """The one check of the device and dtype -> the precision to compile for: float32 (the
    default, the exact path), bfloat16 on a CPU that computes it natively, or int8 (the graphs
    `masklet quantize` quantized, the rest float32)."""
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


def check_int8_graphs(folder: Path, manifest: dict) -> None:
    """An int8 load needs the quantized IR that `masklet quantize` writes into the folder."""
    files = int8_files(manifest)
    if not files:
        raise OptionError(
            f"{folder} has no int8 graphs; quantize its image encoder first with `masklet quantize {folder} "
            "--calibration VIDEO` (needs pip install 'masklet[openvino-int8]'), or load it with dtype float32"
        )
    for name, file in files.items():
        if Path(file).name != file or not (folder / file).is_file() or not (folder / file).with_suffix(".bin").is_file():
            raise CheckpointError(
                f"{folder}: the int8 {name} graph {file!r} (and its .bin) named in manifest.json is missing; "
                f"run `masklet quantize {folder} --calibration VIDEO` again"
            )
