"""`MaskletError`, the base of every error Masklet raises on purpose, and the errors that more
than one package raises. Each message says what was wrong and what to do.

Catch `MaskletError` to handle any of them; each also derives from the built-in exception a
caller would expect (`ValueError` for bad input, `RuntimeError` for a wrong state, ...).
"""

from __future__ import annotations


class MaskletError(Exception):
    """Base of Masklet's own errors."""


class CheckpointError(MaskletError, ValueError):
    """A checkpoint, weights file or exported model folder that cannot be loaded."""


class OptionError(MaskletError, ValueError):
    """An option the chosen backend, device or model cannot honour."""


class ConfigError(MaskletError, ValueError):
    """A model configuration with a wrong field, type or value (in code, a checkpoint or a manifest)."""


class MissingExtraError(MaskletError, ImportError):
    """An optional dependency that the asked-for feature needs is not installed; the message
    names the pip extra that brings it."""
