"""Threads that share the machine: OpenMP workers that wait for work sleep instead of spinning.

After each parallel region, torch's OpenMP threads spin for a while waiting for
the next one. Alone on a machine that saves a little wake-up time; beside other
busy processes (seeds run in parallel, Ray workers, background jobs) the
spinning threads take the cores the working ones need. Measured on 2 cores
(docs/performance.md): a tdmpc2:quick update took 53 ms alone, and beside two
other runs 2,600 ms with spinning threads and 84 ms with sleeping ones.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")  # a user's choice in any of these wins
POLICY = "PASSIVE"


def share_cores() -> None:
    """Make OpenMP threads sleep while they wait (``OMP_WAIT_POLICY=PASSIVE``), for this process and its children.

    OpenMP reads the setting once, when torch loads it, so this acts only before torch is imported (importing
    worldflux first does it) and only when none of :data:`WAIT_SETTINGS` is set already.
    """
    if "torch" not in sys.modules and not any(name in os.environ for name in WAIT_SETTINGS):
        os.environ["OMP_WAIT_POLICY"] = POLICY


@contextlib.contextmanager
def split_cores(parallel: int) -> Iterator[int]:
    """While open, runs started from this process get ``cores // parallel`` OpenMP threads each (at least one).

    Sets ``OMP_NUM_THREADS`` for the children started inside the block, unless the user has set it, whose choice
    wins; yields the count in force. With as many threads per run as cores, runs side by side take more than their
    fair share of time (docs/performance.md, "Sharing the machine").
    """
    if "OMP_NUM_THREADS" in os.environ:
        yield int(os.environ["OMP_NUM_THREADS"])
        return
    threads = max(1, (os.cpu_count() or 1) // parallel)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        yield threads
    finally:
        del os.environ["OMP_NUM_THREADS"]
