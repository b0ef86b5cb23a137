"""Stateless pieces of DreamerV3: symlog, two-hot, categorical latents, lambda-returns.

Distributions are computed in float32 whatever autocast computed their logits in, as the official code casts its
heads' outputs to float32: torch's CPU autocast leaves softmax, log_softmax and sums in bfloat16, whose 8-bit
mantissa blurs values, losses and latent probabilities (docs/performance.md, "Lower precision"). On float32
inputs ``.float()`` is the tensor itself.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def symlog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(torch.abs(x))


def symexp(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.expm1(torch.abs(x))


def twohot_bins(n: int) -> torch.Tensor:
    """``n`` bins, symexp-spaced over [-20, 20] in symlog space and exactly symmetric about 0."""
    if n % 2 == 1:
        half = symexp(torch.linspace(-20.0, 0.0, (n - 1) // 2 + 1))
        return torch.cat([half, -half[:-1].flip(0)])
    half = symexp(torch.linspace(-20.0, 0.0, n // 2))
    return torch.cat([half, -half.flip(0)])


def twohot_mean(logits: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Expected value under softmax(logits), summed symmetrically so uniform probs give exactly 0."""
    probs = logits.float().softmax(-1)
    n = bins.shape[0]
    if n % 2 == 1:
        m = (n - 1) // 2
        mid = probs[..., m] * bins[m]
        return mid + ((probs[..., :m] * bins[:m]).flip(-1) + probs[..., m + 1:] * bins[m + 1:]).sum(-1)
    m = n // 2
    return ((probs[..., :m] * bins[:m]).flip(-1) + probs[..., m:] * bins[m:]).sum(-1)


def _twohot_neighbours(target: torch.Tensor, bins: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each target's bins below and above and their weights (the closer bin weighs more).

    ``searchsorted`` counts the bins ``<= target`` without the ``[..., bins]`` comparison tensors that summing
    ``bins <= target`` builds (in the imagined critic loss those were the largest copies of a train step).
    """
    n = bins.shape[0]
    count = torch.searchsorted(bins, target.contiguous(), right=True)
    below, above = (count - 1).clamp(0, n - 1), count.clamp(0, n - 1)
    equal = below == above
    to_below = torch.where(equal, 1.0, (bins[below] - target).abs())
    to_above = torch.where(equal, 1.0, (bins[above] - target).abs())
    total = to_below + to_above
    return below, above, to_above / total, to_below / total


def twohot_encode(target: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Spread each target over its two neighbouring bins, weighted by closeness."""
    below, above, w_below, w_above = _twohot_neighbours(target, bins)
    out = torch.zeros(*target.shape, bins.shape[0], dtype=target.dtype, device=target.device)
    out.scatter_add_(-1, below[..., None], w_below[..., None])
    return out.scatter_add_(-1, above[..., None], w_above[..., None])


def twohot_loss(logits: torch.Tensor, target: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of softmax(logits) against the two-hot encoding of ``target`` (no gradient to it).

    Only the two neighbouring bins have weight, so their log-probabilities are gathered instead of multiplying
    by the dense encoding and summing: the same value, as every other term is an exact zero.
    """
    logp = logits.float().log_softmax(-1)
    below, above, w_below, w_above = _twohot_neighbours(target.detach().float(), bins)
    return -(w_below * logp.gather(-1, below[..., None])[..., 0] + w_above * logp.gather(-1, above[..., None])[..., 0])


def over_classes(op: Callable[[torch.Tensor, int], torch.Tensor], logits: torch.Tensor) -> torch.Tensor:
    """``op(logits, -1)`` over the class axis of ``[..., groups, classes]`` logits (softmax, argmax, ...).

    With under 8 classes (the size1m latents have 4) torch's CPU kernels are several times slower along such a
    short last axis than along a strided one, so those go through a transpose: the same values to float rounding.
    """
    if logits.shape[-1] >= 8 or logits.dim() < 2:
        return op(logits, -1)
    return op(logits.transpose(-1, -2), -2).transpose(-1, -2)


def unimix_logits(logits: torch.Tensor, unimix: float) -> torch.Tensor:
    """Logits of ``(1 - unimix) * softmax(logits) + unimix * uniform``."""
    if not unimix:
        return logits.float()
    probs = over_classes(torch.softmax, logits.float())
    return torch.log((1 - unimix) * probs + unimix / probs.shape[-1])


def sample_onehot(logits: torch.Tensor) -> torch.Tensor:
    """A one-hot sample (Gumbel-max) with straight-through gradients to the probabilities.

    The noise takes the layout of ``logits``, whose memory order decides which draw lands where. The argmax runs on
    a contiguous copy: the latents' logits come transposed from :func:`unimix_logits`, and torch's CPU argmax over
    their class axis took about 4 ms at ``[1024, 32, 4]``, the copy and argmax together under 1 ms.
    """
    logits = logits.float()
    gumbel = -torch.empty_like(logits).exponential_().log()
    index = (logits.detach() + gumbel).contiguous().argmax(-1, keepdim=True)
    probs = over_classes(torch.softmax, logits)
    return torch.zeros_like(probs).scatter_(-1, index, 1.0) + probs - probs.detach()


def categorical_kl(lhs: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """KL(lhs || rhs) of categoricals given by logits, summed over the latent axis (-2)."""
    logp, logq = over_classes(torch.log_softmax, lhs.float()), over_classes(torch.log_softmax, rhs.float())
    return (logp.exp() * (logp - logq)).sum(-1).sum(-1)


def lambda_return(last: torch.Tensor, term: torch.Tensor, rew: torch.Tensor, boot: torch.Tensor,
                  disc: float, lam: float) -> torch.Tensor:
    """TD(lambda) returns ``[B, T-1]`` of sequences ``[B, T]`` where ``rew[t]`` arrives with step ``t``.

    ``boot`` holds the value estimates to bootstrap from; ``last`` cuts the
    lambda mixing (episode boundary), ``term`` the discount (termination).
    """
    live = (1 - term.float())[:, 1:] * disc
    cont = (1 - last.float())[:, 1:] * lam
    interm = rew[:, 1:] + (1 - cont) * live * boot[:, 1:]
    out = [boot[:, -1]]
    for t in reversed(range(live.shape[1])):
        out.append(interm[:, t] + live[:, t] * cont[:, t] * out[-1])
    return torch.stack(out[::-1][:-1], 1)
