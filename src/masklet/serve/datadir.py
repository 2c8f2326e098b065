"""The data folder: the database, and every stored media file under `media/`.

One server at a time: a `DataDir` holds an exclusive lock (`flock`) on `masklet.lock` in the
folder until it is closed, so a second server on the same folder is refused at once, before
it could sweep the first one's uploads in progress. The kernel drops the lock when its process
ends, however it ends, so a server killed with `kill -9` never blocks its restart.

Nothing a client sends becomes a path: media folders and files get names made here, and a
stored path is only followed if, resolved, it stays inside the data folder through no
symbolic link (`resolve`). Files are written under a temporary name, flushed to disk and
then renamed, with the folder flushed too, so a stored file is whole once acknowledged.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

from masklet.errors import MaskletError

MEDIA = "media"
EXPORTS = "exports"
LOCK_FILE = "masklet.lock"


class UnsafePath(MaskletError, ValueError):
    """A path that would leave the data folder or pass through a symbolic link."""


class ForeignMedia(MaskletError, ValueError):
    """The data folder's media belong to another database than the one given."""


class DataDirInUse(MaskletError, RuntimeError):
    """Another server (or another workspace in this process) has the data folder open."""


def _lock(root: Path) -> BinaryIO:
    """root/masklet.lock opened, holding its exclusive lock, with the holder's pid written in it;
    DataDirInUse if another open file holds the lock."""
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    lock = os.fdopen(fd, "r+b", buffering=0)  # closed (and so unlocked) with the DataDir, or when collected
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = lock.read(32).decode(errors="replace").strip() or "unknown"
        lock.close()
        raise DataDirInUse(f"{root} is in use by another masklet serve (pid {holder}); stop it first, or give "
                           "this server another --data folder") from None
    except BaseException:
        lock.close()
        raise
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n".encode())
    return lock


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DataDir:
    def __init__(self, root: str | Path) -> None:
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self._lock = _lock(self.root)
        try:
            for name in (MEDIA, EXPORTS):
                folder = self.root / name
                if folder.is_symlink():
                    raise UnsafePath(f"{folder} is a symbolic link; the data folder must hold its own {name}/ folder")
                folder.mkdir(exist_ok=True)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Let another server open the folder (closing the lock file drops its lock)."""
        self._lock.close()

    def __enter__(self) -> DataDir:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def resolve(self, relative: str | Path) -> Path:
        """The absolute path of a stored relative path, checked to stay inside the data folder
        without following a symbolic link."""
        relative = Path(relative)
        if relative.is_absolute() or ".." in relative.parts:
            raise UnsafePath(f"{relative}: stored paths are relative and never go up")
        path = self.root
        for part in relative.parts:
            path = path / part
            if path.is_symlink():
                raise UnsafePath(f"{path} is a symbolic link; media are only read from the data folder itself")
        return path

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def new_media_folder(self) -> Path:
        """A new empty folder media/<random>/ for one upload."""
        folder = self.resolve(MEDIA) / secrets.token_hex(8)
        folder.mkdir()
        return folder

    def new_export_path(self, suffix: str) -> Path:
        return self.resolve(EXPORTS) / f"{secrets.token_hex(8)}{suffix}"

    def remove(self, relative: str | Path) -> None:
        """Delete a stored media folder or file (inside media/ only)."""
        path = self.resolve(relative)
        if path.parts[: len(self.root.parts) + 1] != (*self.root.parts, MEDIA):
            raise UnsafePath(f"{relative}: only media files are deleted")
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)

    def media_folders(self) -> list[str]:
        """The folders under media/ (one per upload), relative."""
        return sorted(self.relative(p) for p in self.resolve(MEDIA).iterdir() if p.is_dir() and not p.is_symlink())

    def sweep(self, kept: set[str]) -> list[str]:
        """Delete media folders no stored media uses (left by a stop during an upload) and
        stale exports; returns the media folders deleted."""
        media_root = self.resolve(MEDIA)
        orphans = [p for p in media_root.iterdir() if p.is_dir() and not p.is_symlink()
                   and not any(k == self.relative(p) or k.startswith(self.relative(p) + "/") for k in kept)]
        for folder in orphans:
            shutil.rmtree(folder)
        for stale in self.resolve(EXPORTS).iterdir():
            if stale.is_file() and not stale.is_symlink():
                stale.unlink()
        return [self.relative(p) for p in orphans]


def write_file(path: Path, chunks) -> int:
    """Write byte chunks to a new file `path` (never over an existing file or through a link)
    via a temporary name, flushed to disk; returns the byte count."""
    tmp = path.with_name(f".{path.name}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if path.exists() or path.is_symlink():
            raise FileExistsError(f"{path} exists")
        os.rename(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return size
