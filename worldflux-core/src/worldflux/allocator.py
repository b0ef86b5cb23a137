"""Freed memory kept for reuse, so that a training step's large temporaries do not fault in page by page.

Eager PyTorch on a CPU allocates and frees the same large temporaries every step (activations, gradients,
losses over 255 bins). glibc hands big blocks back to the system: those over its mmap threshold on free, and
the top of the heap once more than its trim threshold is free. Every step then takes them again from fresh,
zeroed pages, one page fault per 4 KiB. Keeping blocks under 32 MiB in the heap and the heap's free top up to
1 GiB makes them reusable. Measured here (docs/performance.md): a tdmpc2:5m update on one thread beside other
runs took 15 to 18% less time; on a quiet machine with two threads the native update did not change and the
official code's took 9% less. The price is a resident size that stays near its peak.
"""

from __future__ import annotations

import ctypes
import os
import sys

# glibc's mallopt parameters and the environment variables that set them; a user's choice in any of these wins
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
MMAP_THRESHOLD = 32 << 20  # glibc's largest on 64-bit systems
TRIM_THRESHOLD = 1 << 30


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds for this process (Linux with glibc; not when the user has set any of
    :data:`SETTINGS`). Returns whether they were set."""
    if sys.platform != "linux" or any(name in os.environ for name in SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
