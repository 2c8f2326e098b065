"""The checkpoint error, importable without torch (the ONNX backend raises it too)."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what is wrong."""
