"""Giving freed tensor memory back to the operating system (glibc's malloc on Linux).

glibc serves a block larger than its mmap threshold with its own mmap, unmapped again on free.
But each time such a block is freed it raises the threshold to that block's size (up to 32 MiB),
so later blocks of that size come from the heap instead, where freed memory stays with the
process whenever a live block sits above it. Tracking allocates and frees tensors of one to
thirty MiB on every frame, in sizes that change with the number of objects and the dtype, so
the heap keeps what one video needed when the next one needs other sizes.

Two remedies, measured on sam2.1-hiera-tiny seeded (one process: encode, then propagate 8
frames with 1, then 3, then 8 objects; 2 threads, AVX512-BF16 CPU):

- `trim()` (`malloc_trim`: free heap pages go back to the system) when a tracking session
  starts or is reset. Peak resident memory bfloat16 1654 -> 1411 MiB, float32 1417 -> 1390;
  no measurable time. Every `TrackingSession` does it.
- `pin_mmap_threshold(n)`: every block of at least n bytes is mmapped and given back on free.
  Peak bfloat16 1654 -> 910 MiB at 1 MiB (1079 at 4 MiB, 1245 at 16 MiB), but each such
  block is then faulted in afresh: the 8-object run took 41 s -> 65 s (62 s, 54 s). A trade
  for memory-bound machines, so opt-in: MASKLET_MMAP_THRESHOLD=<bytes> in the environment
  makes `masklet.load_model` pin it.

Elsewhere than glibc (macOS, Windows, musl) both do nothing and return False.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

ENVIRONMENT = "MASKLET_MMAP_THRESHOLD"
MAX_THRESHOLD = 32 << 20  # glibc's own ceiling for the mmap threshold on 64-bit systems
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


def trim() -> bool:
    """Hand the heap's free pages back to the system; True where the C library is glibc."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def pin_mmap_threshold(threshold: int) -> bool:
    """mmap every block of at least `threshold` bytes (unmapped on free) and stop glibc raising
    that threshold; True if set. Saves memory, costs time: see the module's figures. False,
    changing nothing, where the C library is not glibc and where the user set glibc's own
    MALLOC_MMAP_THRESHOLD_."""
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 < threshold <= MAX_THRESHOLD:
        raise ValueError(f"the mmap threshold is a number of bytes from 1 to {MAX_THRESHOLD}, got {threshold!r}")
    libc = _glibc()
    if libc is None or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    return libc.mallopt(_M_MMAP_THRESHOLD, threshold) == 1


def apply_environment() -> bool:
    """Pin the threshold to $MASKLET_MMAP_THRESHOLD bytes when it is set (0 or unset: leave
    malloc as it is); True if pinned."""
    value = os.environ.get(ENVIRONMENT, "").strip()
    if value in ("", "0"):
        return False
    try:
        threshold = int(value)
    except ValueError:
        raise ValueError(f"{ENVIRONMENT} must be a number of bytes (0: leave malloc as it is), got {value!r}") from None
    return pin_mmap_threshold(threshold)


@functools.cache
def _glibc():
    """The process's C library when it is glibc, else None (looked up once: every tracking
    session start calls `trim`)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not all(hasattr(libc, name) for name in ("gnu_get_libc_version", "mallopt", "malloc_trim")):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    return libc
