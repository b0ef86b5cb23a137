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
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

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


def threads_sleep() -> bool:
    """Whether torch's waiting OpenMP threads sleep (``OMP_WAIT_POLICY=PASSIVE``, what :func:`share_cores` sets)."""
    return os.environ.get("OMP_WAIT_POLICY", "").upper() == POLICY


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block's torch operations on one thread if waiting threads sleep, then restore the thread count.

    For sequential work on a small batch, such as DreamerV3's posterior scan over 16 sequences: torch splits many of
    its thousands of tiny operations across threads anyway, and each split wakes the sleeping threads, which on 2 cores
    costs more than the second thread gains (docs/performance.md, "DreamerV3: the scan on one thread"). Spinning
    threads wake at no cost, so with them the block keeps its threads.
    """
    import torch

    if not threads_sleep():
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def one_thread_backward(outputs: Iterable[torch.Tensor], entry: torch.Tensor) -> None:
    """Run the backward pass of a :func:`one_thread` block on one thread as well.

    ``outputs`` are what the block returned and ``entry`` the input whose gradient is complete only once the backward
    pass has been through the whole block. A hook on each output drops to one thread when the first of their
    gradients arrives; a hook on ``entry`` restores the count found then. Without gradients, or with spinning
    threads, it does nothing.
    """
    import torch

    found: list[int] = []

    def enter(grad: torch.Tensor) -> None:
        if not found:
            found.append(torch.get_num_threads())
            torch.set_num_threads(1)

    def leave(grad: torch.Tensor) -> None:
        if found:
            torch.set_num_threads(found.pop())

    tracked = [t for t in outputs if t.requires_grad]
    if tracked and entry.requires_grad and threads_sleep():
        for t in tracked:
            t.register_hook(enter)
        entry.register_hook(leave)
