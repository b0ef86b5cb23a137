"""What the speed scripts share: the median time of a call, and a replay batch of random data."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from worldflux.types import Batch


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def random_batch(obs: torch.Tensor, action: torch.Tensor) -> Batch:
    """A ``[B, T]`` batch of ``obs`` and ``action`` with random rewards, no episode starts and no terminals."""
    b, t = action.shape[:2]
    return Batch(obs=obs, action=action, reward=torch.randn(b, t), is_first=torch.zeros(b, t, dtype=torch.bool),
                 is_terminal=torch.zeros(b, t, dtype=torch.bool))
