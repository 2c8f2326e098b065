"""masklet.allocator: freed large blocks leave the process after a trim, or at once when the
mmap threshold is pinned.

Each case runs in a fresh interpreter: mallopt settings are process-wide and cannot be undone.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from masklet import allocator

glibc = pytest.mark.skipif(allocator._glibc() is None, reason="needs glibc's malloc (Linux)")

# Frees 8 MiB blocks that sit below a live block, the way one frame's tensors are freed while
# later ones are alive. After the first such free glibc serves blocks of that size from the
# heap, which keeps them; `trim` hands their pages back, and with the threshold pinned each
# block is its own mapping, gone on free.
FRAGMENT = """
import ctypes, sys
from masklet import allocator
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
mode = sys.argv[1]
pinned = allocator.apply_environment() if mode == "environment" else False
if mode == "pin":
    pinned = allocator.pin_mmap_threshold(1 << 20)
size = 8 << 20
libc.free(libc.malloc(size))
start = resident_mib()
keep = []
for _ in range(3):
    blocks = [libc.malloc(size) for _ in range(8)]
    for b in blocks:
        ctypes.memset(b, 1, size)
    keep.append(libc.malloc(512 << 10))
    for b in blocks:
        libc.free(b)
trimmed = allocator.trim() if mode == "trim" else False
print(pinned, trimmed, resident_mib() - start)
"""


def run_fragment(mode: str, **env: str) -> tuple[bool, bool, float]:
    out = subprocess.run([sys.executable, "-c", FRAGMENT, mode], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout.split()
    return out[0] == "True", out[1] == "True", float(out[2])


@glibc
def test_heap_keeps_freed_blocks_by_default():
    assert run_fragment("default") == (False, False, pytest.approx(64, abs=16))


@glibc
def test_trim_returns_them():
    pinned, trimmed, kept_mib = run_fragment("trim")
    assert trimmed and kept_mib < 8


@glibc
def test_pinned_threshold_never_keeps_them():
    pinned, _, kept_mib = run_fragment("pin")
    assert pinned and kept_mib < 8


@glibc
def test_environment_pins_it():
    pinned, _, kept_mib = run_fragment("environment", **{allocator.ENVIRONMENT: str(1 << 20)})
    assert pinned and kept_mib < 8
    assert run_fragment("environment", **{allocator.ENVIRONMENT: "0"})[0] is False


@glibc
def test_glibc_users_own_setting_wins():
    pinned, _, _ = run_fragment("pin", MALLOC_MMAP_THRESHOLD_="65536")
    assert not pinned


def test_bad_threshold_is_a_clear_error(monkeypatch):
    for bad in (0, -1, 64 << 20, True):
        with pytest.raises(ValueError, match="number of bytes from 1"):
            allocator.pin_mmap_threshold(bad)
    monkeypatch.setenv(allocator.ENVIRONMENT, "lots")
    with pytest.raises(ValueError, match="MASKLET_MMAP_THRESHOLD must be a number of bytes"):
        allocator.apply_environment()
