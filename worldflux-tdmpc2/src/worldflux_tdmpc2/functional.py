"""Stateless pieces of TD-MPC2: two-hot in symlog space, squashed Gaussian policy maths.

The heads' outputs are decoded in float32 whatever autocast computed them in: torch's CPU autocast leaves softmax,
log_softmax and sums in bfloat16, whose 8-bit mantissa blurs the values that planning ranks and the losses that
training follows (docs/performance.md, "Lower precision"). On float32 inputs ``.float()`` is the tensor itself.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def symlog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(torch.abs(x))


def symexp(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.expm1(torch.abs(x))


def two_hot(x: torch.Tensor, bins: int, vmin: float, vmax: float) -> torch.Tensor:
    """Soft two-hot encoding ``[..., bins]`` of ``symlog(x)`` clamped to [vmin, vmax]."""
    size = (vmax - vmin) / (bins - 1)
    pos = (symlog(x).clamp(vmin, vmax) - vmin) / size
    idx = pos.floor()
    offset = (pos - idx).unsqueeze(-1)
    idx = idx.long().unsqueeze(-1)
    out = torch.zeros(*x.shape, bins, device=x.device, dtype=x.dtype)
    out.scatter_(-1, idx, 1 - offset)
    return out.scatter_add_(-1, (idx + 1) % bins, offset)  # at vmax the offset is 0: wrap-around adds nothing


def make_bins(bins: int, vmin: float, vmax: float) -> torch.Tensor:
    """Evenly spaced bin centres in symlog space, exactly mirrored when ``vmin == -vmax``."""
    out = torch.linspace(vmin, vmax, bins)
    if vmin == -vmax:
        half = out[: bins // 2]
        out = torch.cat([half, torch.zeros(bins % 2), -half.flip(0)])
    return out


def two_hot_inv(logits: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """The decoded scalar ``[...]``: symexp of the expected bin under softmax(logits).

    Mirrored terms are summed pairwise, so uniform probabilities over mirrored
    bins (zero-initialised heads) decode to exactly 0, not to rounding noise.
    """
    terms = logits.float().softmax(-1) * bins
    m = bins.shape[0] // 2
    low, high = terms[..., :m].flip(-1), terms[..., bins.shape[0] - m:]
    total = (low + high).sum(-1)
    if bins.shape[0] % 2:
        total = total + terms[..., m]
    return symexp(total)


def soft_ce(logits: torch.Tensor, target: torch.Tensor, vmin: float, vmax: float) -> torch.Tensor:
    """Cross-entropy ``[...]`` of softmax(logits) against the two-hot encoding of ``target``."""
    return -(two_hot(target.float(), logits.shape[-1], vmin, vmax) * logits.float().log_softmax(-1)).sum(-1)


def squash_log_std(log_std_raw: torch.Tensor, log_std_min: float, log_std_max: float) -> torch.Tensor:
    """The policy head's raw log-std output mapped into ``[log_std_min, log_std_max]``."""
    return log_std_min + 0.5 * (log_std_max - log_std_min) * (torch.tanh(log_std_raw) + 1)


def squashed_gaussian(mean: torch.Tensor, log_std_raw: torch.Tensor, log_std_min: float, log_std_max: float,
                      mask: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample a tanh-squashed Gaussian action; returns (action, tanh(mean), entropy, scaled entropy).

    The entropy is that of the squashed sample; the scaled entropy multiplies
    the Gaussian log-probability by the number of action dimensions, as officially.
    ``mask`` (multi-task, broadcastable to ``mean``) zeroes the mean, log-std and
    noise of the actions a task lacks, and the scale counts only its own actions.
    """
    mean, log_std = mean.float(), squash_log_std(log_std_raw.float(), log_std_min, log_std_max)
    eps = torch.randn_like(mean)
    size: float | torch.Tensor = mean.shape[-1]
    if mask is not None:
        mean, log_std, eps = mean * mask, log_std * mask, eps * mask
        size = mask.sum(-1)
    gauss_logp = (-0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    action = torch.tanh(mean + eps * log_std.exp())
    logp = gauss_logp - torch.log(F.relu(1 - action.pow(2)) + 1e-6).sum(-1)
    scale = gauss_logp * size / (logp + 1e-8)
    return action, torch.tanh(mean), -logp, -logp * scale
