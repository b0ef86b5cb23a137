"""A probabilistic ensemble: ``M`` independent MLPs, each giving a Gaussian mean and log-variance.

The members are stacked into batched weight tensors so that all of them run
in one ``baddbmm`` per layer: inputs are member-major, ``[M, N, in]``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class EnsembleLinear(nn.Module):
    """``M`` linear layers applied member by member: ``[M, N, in] -> [M, N, out]``."""

    def __init__(self, members: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, in_dim, out_dim))
        self.bias = nn.Parameter(torch.zeros(members, 1, out_dim))
        # the paper's initialisation: a truncated normal with std 1 / (2 sqrt(fan_in)), independent per member
        std = 1.0 / (2.0 * math.sqrt(in_dim))
        nn.init.trunc_normal_(self.weight, std=std, a=-2 * std, b=2 * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


def soft_clamp(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Bound ``x`` to ``[low, high]`` smoothly, so gradients reach the bounds (the paper's log-variance trick)."""
    x = high - F.softplus(high - x)
    return low + F.softplus(x - low)


class GaussianEnsemble(nn.Module):
    """``members`` MLPs (SiLU, the paper's swish) from ``in_dim`` to a mean and log-variance of ``out_dim``.

    The log-variance is soft-bounded by learned ``max_logvar`` / ``min_logvar``
    (shared by the members): without them a member could drive its variance to
    zero or infinity on inputs it has not seen. :meth:`bound_penalty` keeps
    the bounds from drifting apart.
    """

    def __init__(self, members: int, in_dim: int, out_dim: int, hidden_dim: int, num_layers: int,
                 min_logvar: float, max_logvar: float) -> None:
        super().__init__()
        dims = [in_dim] + [hidden_dim] * num_layers
        self.hidden = nn.ModuleList(EnsembleLinear(members, a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.head = EnsembleLinear(members, hidden_dim, 2 * out_dim)
        self.max_logvar = nn.Parameter(torch.full((out_dim,), float(max_logvar)))
        self.min_logvar = nn.Parameter(torch.full((out_dim,), float(min_logvar)))
        self.members, self.out_dim = members, out_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [M, N, in]`` -> mean and bounded log-variance, each ``[M, N, out]``."""
        for layer in self.hidden:
            x = F.silu(layer(x))
        mean, raw = self.head(x).chunk(2, dim=-1)
        return mean, soft_clamp(raw, self.min_logvar, self.max_logvar)

    def weight_matrices(self) -> list[nn.Parameter]:
        """The parameters the L2 penalty applies to (not biases or bounds)."""
        return [layer.weight for layer in [*self.hidden, self.head]]

    def bound_penalty(self) -> torch.Tensor:
        """``sum(max_logvar) - sum(min_logvar)``: small when the bounds are tight."""
        return self.max_logvar.sum() - self.min_logvar.sum()


def gaussian_nll(mean: torch.Tensor, logvar: torch.Tensor, target: torch.Tensor, beta: float = 0.0) -> torch.Tensor:
    """Per-sample Gaussian negative log-likelihood, summed over the last dim, without the constant.

    ``(mean - target)^2 / var + log var`` is the paper's loss (half of it plus
    a constant is the exact NLL). ``beta > 0`` weights each term by
    ``var^beta`` (not differentiated; beta-NLL, Seitzer et al. 2022): plain
    NLL divides the mean's gradient by the variance, so a member that calls
    a region noisy stops fitting it; beta = 0.5 keeps the fit going there.
    """
    nll = (mean - target).pow(2) * torch.exp(-logvar) + logvar
    if beta:
        nll = nll * torch.exp(beta * logvar.detach())
    return nll.sum(-1)
