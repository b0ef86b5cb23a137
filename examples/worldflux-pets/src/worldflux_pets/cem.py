"""The cross-entropy method over action sequences, as PETS uses it (Botev et al. 2013; Chua et al. 2018).

Kept free of any model so it can be tested on a known objective.
"""

from __future__ import annotations

from typing import Callable

import torch


def truncated_normal(shape: torch.Size | tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Standard normal samples truncated to [-2, 2] (the paper samples this way, so none is clipped)."""
    out = torch.empty(shape, device=device)
    return torch.nn.init.trunc_normal_(out, mean=0.0, std=1.0, a=-2.0, b=2.0)


def cem(score: Callable[[torch.Tensor], torch.Tensor], mean: torch.Tensor, std: torch.Tensor, *,
        iterations: int, population: int, elites: int, alpha: float = 0.1,
        low: float = -1.0, high: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximise ``score`` over sequences in ``[low, high]``; returns the final mean and std.

    ``mean``, ``std``: ``[E, H, A]`` for ``E`` independent problems (one per
    environment). ``score(actions [E, N, H, A]) -> [E, N]``, higher is better;
    non-finite scores never become elites. Each iteration samples
    ``population`` sequences from a truncated normal whose std is also kept
    within half the distance to the bounds (so every sample lies inside
    them), refits mean and variance to the ``elites`` best, and smooths:
    ``new = alpha * old + (1 - alpha) * fit``.
    """
    if not 0 < elites <= population:
        raise ValueError(f"cem needs 0 < elites <= population; got elites={elites}, population={population}")
    var = std.pow(2)
    for _ in range(iterations):
        room = torch.minimum(mean - low, high - mean).clamp(min=0.0) / 2
        sample_std = torch.minimum(var.sqrt(), room)
        noise = truncated_normal((mean.shape[0], population, *mean.shape[1:]), mean.device)
        actions = mean[:, None] + sample_std[:, None] * noise
        scores = score(actions)
        scores = torch.where(torch.isfinite(scores), scores, torch.full_like(scores, -torch.inf))
        top = scores.topk(elites, dim=1).indices
        elite = actions.gather(1, top[:, :, None, None].expand(-1, -1, *actions.shape[2:]))
        mean = alpha * mean + (1 - alpha) * elite.mean(1)
        var = alpha * var + (1 - alpha) * elite.var(1, unbiased=False)
    return mean, var.sqrt()
