"""Export of a SAM2Model to ONNX (`masklet export --format onnx`) and to the SAM 2 model layout
of AnyLabeling / X-AnyLabeling (`--format anylabeling` / `x-anylabeling`); the ONNX Runtime
backend that runs the former lives in `masklet.onnxrt`. Only the CLI imports this package."""

from masklet.export.anylabeling import export_anylabeling
from masklet.export.onnx_export import DEFAULT_OPSET, ExportError, export_onnx

__all__ = ["DEFAULT_OPSET", "ExportError", "export_anylabeling", "export_onnx"]
