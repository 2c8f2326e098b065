"""Export of a SAM2Model to ONNX (`masklet export --format onnx`); the ONNX Runtime backend
that runs the result lives in `masklet.onnxrt`. Only the CLI imports this package."""

from masklet.export.onnx_export import DEFAULT_OPSET, ExportError, export_onnx

__all__ = ["DEFAULT_OPSET", "ExportError", "export_onnx"]
