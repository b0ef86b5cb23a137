"""Torch's thread count and OpenMP's wait policy held fixed for a test of a thread choice, then restored."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def torch_threads(monkeypatch: Any, threads: int, wait_policy: str | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads and ``OMP_WAIT_POLICY=wait_policy`` (``None``: unset).

    :func:`worldflux.threads.one_thread` reads the policy when called, so a test can choose it; ``monkeypatch``
    (pytest's fixture) restores the variable and this restores the thread count.
    """
    import torch

    if wait_policy:
        monkeypatch.setenv("OMP_WAIT_POLICY", wait_policy)
    else:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
