"""Keep freed frame buffers in the process instead of handing them back to the OS.

Every frame allocates and frees a few full-size float buffers (guided upsampling, optical
flow, the network's output). glibc serves blocks this large with fresh ``mmap`` pages and
returns them on free, so each frame pays the kernel to zero and fault them in again: a
third of the guided upsampling's time and most of a render's system time at 640x360
(benchmarks/fast_path.py, section G). Raising glibc's mmap and trim thresholds makes
those blocks come from the heap and stay there; memory use levels off at the pipeline's
peak, which its bounded queues keep small. ``RTSTYLE_KEEP_BUFFERS=0`` in the environment
leaves glibc's defaults alone (for a host application that needs its memory back).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 64 << 20   # blocks up to this size come from the heap (a 4K RGB float frame is 100 MB)
TRIM_THRESHOLD = 256 << 20  # free memory the heap may keep before it gives some back
TOP_PAD = 16 << 20          # grow the heap in steps this large

_applied: bool | None = None


def keep_freed_buffers() -> bool:
    """Apply the thresholds once per process; True where they took (glibc), False elsewhere
    or when ``RTSTYLE_KEEP_BUFFERS=0``."""
    global _applied
    if _applied is None:
        _applied = False
        if os.environ.get("RTSTYLE_KEEP_BUFFERS") != "0" and platform.libc_ver()[0] == "glibc":
            libc = ctypes.CDLL(ctypes.util.find_library("c"))
            _applied = all(libc.mallopt(param, value) == 1 for param, value in (
                (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_TOP_PAD, TOP_PAD)))
    return _applied
