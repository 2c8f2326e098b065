"""Names that come with uploads (file names, archive members): checked, never used as paths.

A name may hold folders (a browser sends "clip/00001.jpg" for a folder upload), but no
absolute path, drive, `..` component or NUL byte: such a name is refused, not repaired. Media
are named after their upload with only [A-Za-z0-9._-] kept, unique within their project.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from masklet.serve.errors import BadRequest

_DRIVE = re.compile(r"^[A-Za-z]:")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 64


def checked_name(name: str | None, what: str = "file") -> PurePosixPath:
    """An upload's name as a relative path, or a 400 saying why it is refused."""
    if not name:
        raise BadRequest(f"a {what} has no name; send files with their file names")
    if "\x00" in name or len(name) > 1024:
        raise BadRequest(f"{what} name {name[:80]!r} is not a file name")
    posix = name.replace("\\", "/")
    if posix.startswith("/") or _DRIVE.match(posix):
        raise BadRequest(f"{what} name {name!r} is an absolute path; send relative file names")
    path = PurePosixPath(posix)
    if ".." in path.parts:
        raise BadRequest(f"{what} name {name!r} goes up a folder ('..'); send plain file names")
    return path


def media_name(candidate: str, taken: set[str]) -> str:
    """A safe display and export name for new media, unique among `taken`."""
    base = _UNSAFE.sub("_", candidate).strip("._")[:MAX_NAME] or "media"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name
