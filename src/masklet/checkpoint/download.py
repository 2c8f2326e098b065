"""Downloading checkpoints: progress bar, temporary file, atomic rename."""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from masklet.errors import MaskletError


class DownloadError(MaskletError, RuntimeError):
    pass


def download_file(url: str, dest: Path, progress: bool = True, timeout: float = 30.0) -> Path:
    """Fetch `url` into `dest`. The data goes to a temporary file in the same folder, which
    is renamed to `dest` only once complete, so `dest` is never a partial file."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout)
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                raise DownloadError(
                    f"could not download {url} ({reason}). If this machine is offline, download "
                    f"the file elsewhere and put it at {dest}, or pass the local file's path."
                ) from None
            with response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(
                    total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress
                ) as bar:
                    received = 0
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
            if total is not None and received != total:
                raise DownloadError(
                    f"download of {url} stopped after {received} of {total} bytes; try again"
                )
        os.replace(tmp_name, dest)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return dest
