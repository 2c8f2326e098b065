"""The checkpoint error (defined beside `MaskletError` in `masklet.errors`, so the ONNX backend
raises it without importing this package)."""

from masklet.errors import CheckpointError

__all__ = ["CheckpointError"]
