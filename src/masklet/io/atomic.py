"""Writing output files whole or not at all.

Every writer in `masklet.io` writes to a hidden temporary file in the destination folder and
renames it onto the final name (`os.replace`, atomic on one file system) only once the content
is complete, so a crash or an error never leaves a truncated output behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from masklet.errors import MaskletError


class OutputNotWritableError(MaskletError, OSError):
    """The destination folder of an output file cannot be created or written to."""


def ensure_output_dir(folder: str | Path) -> Path:
    """Create `folder` (and its parents) if needed; raise OutputNotWritableError if it cannot
    be created or is not writable."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputNotWritableError(
            f"cannot create the output folder {folder} ({e.strerror or e}); "
            "choose another output path or fix its permissions"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputNotWritableError(
            f"the output folder {folder} is not writable; choose another output path or fix its permissions"
        )
    return folder


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends without an exception the
    temporary file is renamed onto `path`, otherwise it is deleted.

    The temporary name does not end with the final suffix, so anything writing to it must be
    told the format explicitly (e.g. `image.save(tmp, format="PNG")`).
    """
    path = Path(path)
    folder = ensure_output_dir(path.parent)
    tmp = folder / f".{path.name}.{secrets.token_hex(4)}.partial"
    try:
        # Created like any new file (mode 0o666 less the umask), unlike tempfile's 0o600.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as e:
        raise OutputNotWritableError(
            f"cannot write into {folder} ({e.strerror or e}); choose another output path or fix its permissions"
        ) from None
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file; returns the path."""
    path = Path(path)
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
