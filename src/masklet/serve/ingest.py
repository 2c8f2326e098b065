"""Uploads turned into stored media: a video file, a zip of frames, or image files.

Each upload part's declared content type must be one of the accepted kinds, and what the
bytes are (sniffed: a zip, an image PIL decodes, a video PyAV decodes) must match it; a
mismatch is a 415. Frames are stored as media/<random>/frames/00000.<format>, numbered in the
natural order of the names they came with; a video is stored as uploaded and read through
PyAV. Limits (frames, duration, pixels, archive members, unpacked bytes, compression ratio)
are checked before anything is kept; a refused upload leaves nothing behind.
"""

from __future__ import annotations

import shutil
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from masklet.io.image import IMAGE_SUFFIXES, natural_sort_key
from masklet.io.video import VideoReadError, open_video
from masklet.serve.datadir import DataDir, fsync_folder, write_file
from masklet.serve.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from masklet.serve.settings import UploadLimits
from masklet.serve.storage.records import MediaKind
from masklet.serve.upload_names import checked_name

VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/x-msvideo",
                         "video/avi", "video/mpeg", "video/ogg", "video/x-m4v"})
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/bmp", "image/x-ms-bmp"})
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed", "application/x-zip"})
UNTYPED = frozenset({"", "application/octet-stream"})  # what browsers send for unknown files
ACCEPTED = ("a video (video/mp4, video/webm, ...), image files (image/jpeg, image/png, image/webp, image/bmp; at "
            "most 1000 in one request) or a zip of them")
IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp"}
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".mpg", ".mpeg", ".ogv"})
S_IFMT, S_IFLNK = 0o170000, 0o120000
CHUNK = 1 << 20


@dataclass
class UploadPart:
    filename: str | None
    content_type: str | None
    file: BinaryIO


@dataclass(frozen=True)
class IngestedMedia:
    kind: MediaKind
    path: str  # relative to the data folder (absolute while it is being ingested)
    name_hint: str  # what the upload was called
    num_frames: int
    width: int
    height: int
    fps: float | None


def _declared(part: UploadPart, name: str) -> str:
    """The part's declared kind: "video", "image", "zip" or "any" (untyped), else a 415."""
    content_type = (part.content_type or "").split(";")[0].strip().lower()
    for kind, types in (("video", VIDEO_TYPES), ("image", IMAGE_TYPES), ("zip", ZIP_TYPES), ("any", UNTYPED)):
        if content_type in types:
            return kind
    raise UnsupportedMediaType(f"{name}: content type {content_type!r} is not accepted; send {ACCEPTED}")


def _chunks(file: BinaryIO, limit: int, what: str) -> Iterator[bytes]:
    """The file's bytes, at most `limit` of them (413 past that)."""
    total = 0
    while chunk := file.read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(f"{what} unpacks to more than {limit} bytes; it is refused as a zip bomb")
        yield chunk


def _is_zip(file: BinaryIO) -> bool:
    file.seek(0)
    result = zipfile.is_zipfile(file)
    file.seek(0)
    return result


def _image_format(file: BinaryIO) -> str | None:
    file.seek(0)
    try:
        with Image.open(file) as image:
            return image.format
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    finally:
        file.seek(0)


class FrameWriter:
    """Image frames checked and written one after another into a media folder's frames/."""

    def __init__(self, folder: Path, limits: UploadLimits) -> None:
        self.folder = folder / "frames"
        self.folder.mkdir()
        self.limits = limits
        self.size: tuple[int, int] | None = None  # (width, height) of the first frame
        self.count = 0

    def add(self, file: BinaryIO, name: str, unpacked_limit: int) -> None:
        if self.count >= self.limits.max_frames:
            raise PayloadTooLarge(f"more than {self.limits.max_frames} frames; split the video into shorter parts")
        staged = self.folder / f"{self.count:05d}.incoming"
        write_file(staged, _chunks(file, unpacked_limit, name))
        try:
            with Image.open(staged) as image:
                kind, size = image.format, image.size
                if kind not in IMAGE_FORMATS:
                    raise UnsupportedMediaType(f"{name}: {kind} images are not accepted; frames are JPEG, PNG, WebP or BMP")
                if size[0] * size[1] > self.limits.max_frame_pixels:
                    raise PayloadTooLarge(f"{name}: {size[0]}x{size[1]} is more than {self.limits.max_frame_pixels} pixels")
                if self.size is not None and size != self.size:
                    raise BadRequest(f"{name} is {size[0]}x{size[1]} but the first frame is "
                                     f"{self.size[0]}x{self.size[1]}; all frames of a video have one size")
                image.load()
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
            raise UnsupportedMediaType(f"{name} is not a readable image ({e}); send {ACCEPTED}") from None
        staged.rename(self.folder / f"{self.count:05d}{IMAGE_FORMATS[kind]}")
        self.size = size
        self.count += 1

    def finish(self) -> tuple[int, int, int]:
        """(frames, width, height) once every frame is in."""
        if not self.count:
            raise BadRequest(f"no image frames found ({' '.join(sorted(IMAGE_SUFFIXES))}); send {ACCEPTED}")
        fsync_folder(self.folder)
        return self.count, *self.size


def _frame_member(path: PurePosixPath) -> bool:
    hidden = any(p.startswith(".") or p == "__MACOSX" for p in path.parts)
    return not hidden and path.suffix.lower() in IMAGE_SUFFIXES


def _archive_frames(archive: zipfile.ZipFile, name: str, writer: FrameWriter, limits: UploadLimits) -> None:
    members = archive.infolist()
    if len(members) > limits.max_archive_files:
        raise PayloadTooLarge(f"{name} holds {len(members)} members, more than {limits.max_archive_files}")
    if sum(m.file_size for m in members) > limits.max_archive_bytes:
        raise PayloadTooLarge(f"{name} unpacks to more than {limits.max_archive_bytes} bytes")
    frames = []
    for member in members:
        path = checked_name(member.filename, f"member of {name}")
        if (member.external_attr >> 16) & S_IFMT == S_IFLNK:
            raise BadRequest(f"{name}: member {member.filename!r} is a symbolic link; archives of frames hold plain files")
        if member.flag_bits & 0x1:
            raise BadRequest(f"{name}: member {member.filename!r} is encrypted; send an unencrypted zip")
        if member.is_dir() or not _frame_member(path):
            continue
        if member.compress_size and member.file_size / member.compress_size > limits.max_compression_ratio:
            raise PayloadTooLarge(f"{name}: member {member.filename!r} is compressed {member.file_size // member.compress_size}"
                                  f" to 1, more than {limits.max_compression_ratio:g}; it is refused as a zip bomb")
        frames.append((path, member))
    for _path, member in sorted(frames, key=lambda f: natural_sort_key(str(f[0]))):
        where = f"{name}: {member.filename}"
        try:
            packed = archive.open(member)
        except _ZIP_DAMAGE as e:
            raise _damaged(where, e) from None
        with packed:
            writer.add(_MemberReader(packed, where), where, member.file_size)


# What zipfile raises on a damaged archive, by the damage: a bad header, bad deflate data, an
# offset past the end, a cut-off member, an unknown compression method.
_ZIP_DAMAGE = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError)


def _damaged(where: str, error: Exception) -> BadRequest:
    return BadRequest(f"{where} cannot be unpacked ({error}); the zip is damaged")


class _MemberReader:
    """A zip member's stream whose read errors are a 400 naming the member (while errors writing
    the frame to disk stay what they are)."""

    def __init__(self, packed: BinaryIO, where: str) -> None:
        self.packed, self.where = packed, where

    def read(self, size: int = -1) -> bytes:
        try:
            return self.packed.read(size)
        except _ZIP_DAMAGE as e:
            raise _damaged(self.where, e) from None


def _video(part: UploadPart, name: PurePosixPath, folder: Path, limits: UploadLimits) -> IngestedMedia:
    suffix = name.suffix.lower() if name.suffix.lower() in VIDEO_SUFFIXES else ".video"
    path = folder / f"video{suffix}"
    part.file.seek(0)
    write_file(path, _chunks(part.file, limits.max_bytes, str(name)))
    try:
        with open_video(path, prefetch=0, cache_mib=0) as video:
            frames, width, height, fps = video.num_frames, video.width, video.height, video.fps
    except (VideoReadError, OSError) as e:
        raise UnsupportedMediaType(f"{name} is not a video PyAV can read ({e}); send {ACCEPTED}") from None
    if not frames:
        raise BadRequest(f"{name} has no frames")
    if frames > limits.max_frames:
        raise PayloadTooLarge(f"{name} has {frames} frames, more than {limits.max_frames}; cut it shorter")
    if fps and frames / fps > limits.max_seconds:
        raise PayloadTooLarge(f"{name} lasts {frames / fps:.0f} s, more than {limits.max_seconds:g} s; cut it shorter")
    if width * height > limits.max_frame_pixels:
        raise PayloadTooLarge(f"{name} is {width}x{height}, more than {limits.max_frame_pixels} pixels a frame")
    fsync_folder(folder)
    return IngestedMedia(MediaKind.VIDEO, str(path), name.stem, frames, width, height, fps)


def _ingest_into(parts: list[UploadPart], folder: Path, limits: UploadLimits) -> IngestedMedia:
    names = [checked_name(p.filename) for p in parts]
    declared = [_declared(p, str(n)) for p, n in zip(parts, names)]
    zips = [_is_zip(p.file) for p in parts]
    if len(parts) == 1 and (zips[0] or declared[0] == "zip"):
        if declared[0] not in ("zip", "any") or not zips[0]:
            raise UnsupportedMediaType(f"{names[0]} is declared {parts[0].content_type!r} but is "
                                       f"{'a zip' if zips[0] else 'not a zip'}; send {ACCEPTED}")
        writer = FrameWriter(folder, limits)
        try:
            archive = zipfile.ZipFile(parts[0].file)
        except (*_ZIP_DAMAGE, UnicodeDecodeError) as e:  # member names flagged UTF-8 that are not
            raise BadRequest(f"{names[0]} is a damaged zip ({e})") from None
        with archive:
            _archive_frames(archive, str(names[0]), writer, limits)
        count, width, height = writer.finish()
        return IngestedMedia(MediaKind.FRAMES, str(writer.folder), names[0].stem, count, width, height, None)
    formats = [_image_format(p.file) for p in parts]
    if len(parts) == 1 and formats[0] is None and declared[0] in ("video", "any"):
        return _video(parts[0], names[0], folder, limits)
    for part, name, kind, image_format in zip(parts, names, declared, formats):
        if image_format is None or kind not in ("image", "any"):
            what = "an image" if image_format else "not an image"
            raise UnsupportedMediaType(f"{name} is declared {part.content_type!r} but is {what}; send one video, "
                                       f"one zip, or image files only ({ACCEPTED})")
    writer = FrameWriter(folder, limits)
    for part, name in sorted(zip(parts, names), key=lambda pn: natural_sort_key(str(pn[1]))):
        part.file.seek(0)
        writer.add(part.file, str(name), limits.max_bytes)
    count, width, height = writer.finish()
    folders = {n.parent.name for n in names}
    hint = folders.pop() if len(folders) == 1 and "" not in folders else "frames"
    return IngestedMedia(MediaKind.FRAMES, str(writer.folder), hint, count, width, height, None)


def ingest(parts: list[UploadPart], data: DataDir, limits: UploadLimits) -> IngestedMedia:
    """Check and store an upload in a new media folder; a refused upload leaves nothing behind."""
    if not parts:
        raise BadRequest(f"no file: send {ACCEPTED} as the multipart field 'files'")
    folder = data.new_media_folder()
    try:
        media = _ingest_into(parts, folder, limits)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return replace(media, path=data.relative(Path(media.path)))
