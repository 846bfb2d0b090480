"""Keep freed frame buffers in the process instead of handing them back to the OS.

Guided upsampling (a network run below full size, see rtstyle.guided) allocates and frees
several full-size float buffers per frame. glibc serves blocks this large with fresh
``mmap`` pages, or trims them off the heap on free, so each frame pays the kernel to zero
and fault them in again: a third of the upsampling's time. Raising glibc's mmap and trim
thresholds makes those blocks come from the heap and stay there; memory use levels off at
the pipeline's peak, which its bounded queues keep small. Measured (benchmarks/fast_path.py,
section G): a render at internal scale 0.5 went from 3,193 to 401 page faults per frame and
ran 1.10x faster; at full scale, where no such buffers are made, it gained nothing (0.99x),
so a Stylizer applies it only below scale 1. ``RTSTYLE_KEEP_BUFFERS=0`` in the environment
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
