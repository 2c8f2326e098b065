"""How the command line reports failures: one line on stderr, exit code 2 (1 when memory ran out)."""

from __future__ import annotations

import argparse

from masklet.errors import MaskletError


class CliError(MaskletError):
    """A user-facing failure: printed as one line, exit code 2."""


class CliParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, exit code 2."""

    def error(self, message: str):
        self.exit(2, f"masklet: error: {message} (see `{self.prog} --help`)\n")


# How allocation failures read: numpy's and Python's MemoryError, torch's CPU allocator (a
# RuntimeError) and torch.OutOfMemoryError (CUDA / MPS).
_ALLOCATION_FAILURES = ("can't allocate memory", "out of memory", "not enough memory")


def out_of_memory(error: BaseException) -> str | None:
    """The message for `masklet` to print when `error` is memory running out, else None."""
    text = str(error)
    if not (isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and any(f in text.lower() for f in _ALLOCATION_FAILURES))):
        return None
    detail = text.splitlines()[0][:200] if text else type(error).__name__
    return (f"out of memory ({detail}). Nothing was written. Use a smaller model (--model), a smaller image or fewer "
            "frames or objects at a time, or a machine or --device with more memory")
