"""MPPI as TD-MPC2 uses it: iterate Gaussian sampling, elite selection and score-weighted refits."""

from __future__ import annotations

from typing import Callable

import torch


def mppi(
    score_fn: Callable[[torch.Tensor], torch.Tensor],
    mean: torch.Tensor,
    fixed: torch.Tensor,
    *,
    iterations: int,
    num_samples: int,
    num_elites: int,
    temperature: float,
    min_std: float,
    max_std: float,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Search action sequences ``[E, H, A]`` that maximise ``score_fn`` for ``E`` problems at once.

    ``score_fn`` maps candidates ``[E, N, H, A]`` to scores ``[E, N]``; ``fixed``
    ``[E, P, H, A]`` are candidates kept in every iteration (policy rollouts).
    Returns the final mean and std ``[E, H, A]``, the elites ``[E, K, H, A]`` and
    their normalised scores ``[E, K]``. ``mask [E, A]`` (multi-task) zeroes the
    actions a problem's task lacks in every candidate, mean and std.

    The noise is drawn time-major (``[E, H, N, A]``), the official order, so one
    problem consumes the random stream exactly as the official planner does.
    """
    e, h, a = mean.shape
    std = torch.full_like(mean, max_std)
    drawn = num_samples - fixed.shape[1]
    for _ in range(iterations):
        noise = torch.randn(e, h, drawn, a, device=mean.device, dtype=mean.dtype).transpose(1, 2)
        samples = (mean[:, None] + std[:, None] * noise).clamp(-1, 1)
        candidates = torch.cat([fixed, samples], 1)
        if mask is not None:
            candidates = candidates * mask[:, None, None]
        value = score_fn(candidates).nan_to_num(0)
        elite_value, idx = value.topk(num_elites, dim=1)
        elites = candidates.gather(1, idx[..., None, None].expand(-1, -1, h, a))
        score = torch.exp(temperature * (elite_value - elite_value.max(1, keepdim=True).values))
        score = score / score.sum(1, keepdim=True)
        w = score[..., None, None]
        mean = (w * elites).sum(1) / (score.sum(1)[:, None, None] + 1e-9)
        std = ((w * (elites - mean[:, None]).pow(2)).sum(1) / (score.sum(1)[:, None, None] + 1e-9)).sqrt()
        std = std.clamp(min_std, max_std)
        if mask is not None:
            mean, std = mean * mask[:, None], std * mask[:, None]
    return mean, std, elites, score


def pick_elite(elites: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """One elite sequence per problem, drawn with probability ``score`` (Gumbel-max)."""
    gumbel = -torch.empty_like(score).exponential_().log()
    idx = (score.log() + gumbel).argmax(1)
    return elites[torch.arange(elites.shape[0], device=elites.device), idx]
