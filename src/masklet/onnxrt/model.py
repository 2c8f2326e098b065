"""`masklet.load_model(folder, backend="onnx")`: an export folder run by onnxruntime."""

from __future__ import annotations

from pathlib import Path

from masklet.errors import OptionError
from masklet.exported.model import ExportedSAM2Model, dtype_name, export_manifest
from masklet.onnxrt.graphs import OnnxRuntimeGraphs


def load_onnx_model(folder, config=None, device="cpu", dtype=None, threads: int | None = None) -> ExportedSAM2Model:
    """Check what the backend cannot honour, then open the export folder (`threads`: the
    sessions' intra-op threads, default onnxruntime's)."""
    check_onnx_options(device=device, dtype=dtype)
    manifest = export_manifest(folder, "onnx", config, device)
    return ExportedSAM2Model(OnnxRuntimeGraphs(Path(folder), manifest, threads))


def check_onnx_options(*, device="cpu", dtype=None) -> None:
    """The one check of the device and dtype: the ONNX backend runs on the cpu in float32
    (None means the default)."""
    if str(device) != "cpu" or dtype_name(dtype) != "float32":
        raise OptionError(
            f"backend='onnx' runs on the cpu in float32, not {device} / {dtype}; use the cpu and the default dtype"
        )
