"""Output heads: two-hot reward/value, binary continue, actor distributions."""

from __future__ import annotations

import torch
from torch import nn

from worldflux_dreamer.functional import sample_onehot, twohot_bins, twohot_loss, twohot_mean
from worldflux_dreamer.layers import Linear, mlp


class TwoHotHead(nn.Module):
    """MLP to logits over symexp-spaced bins; the zero-initialised output predicts exactly 0."""

    def __init__(self, inp: int, units: int, layers: int, act: str, bins: int) -> None:
        super().__init__()
        self.net = nn.Sequential(mlp(inp, units, layers, act), Linear(units if layers else inp, bins, outscale=0.0))
        self.register_buffer("bins", twohot_bins(bins), persistent=False)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat)

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        return twohot_mean(logits, self.bins)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return twohot_loss(logits, target, self.bins)


class BinaryHead(nn.Module):
    """MLP to one logit (the continue flag)."""

    def __init__(self, inp: int, units: int, layers: int, act: str) -> None:
        super().__init__()
        self.net = nn.Sequential(mlp(inp, units, layers, act), Linear(units if layers else inp, 1))

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat).squeeze(-1)


class PolicyHead(nn.Module):
    """The actor: a categorical over one-hot actions, or a Normal with tanh mean and bounded std (in float32)."""

    def __init__(self, inp: int, units: int, layers: int, act: str, action_dim: int, discrete: bool,
                 min_std: float, max_std: float, outscale: float) -> None:
        super().__init__()
        self.discrete, self.min_std, self.max_std = discrete, min_std, max_std
        self.net = mlp(inp, units, layers, act)
        width = units if layers else inp
        self.mean = Linear(width, action_dim, outscale)
        self.std = None if discrete else Linear(width, action_dim, outscale)

    def forward(self, feat: torch.Tensor) -> torch.distributions.Distribution:
        x = self.net(feat)
        if self.discrete:
            return torch.distributions.OneHotCategorical(logits=self.mean(x).float(), validate_args=False)
        std = (self.max_std - self.min_std) * torch.sigmoid(self.std(x).float() + 2.0) + self.min_std
        normal = torch.distributions.Normal(torch.tanh(self.mean(x).float()), std, validate_args=False)
        return torch.distributions.Independent(normal, 1, validate_args=False)

    @torch.no_grad()
    def sample(self, feat: torch.Tensor) -> torch.Tensor:
        """An action sample; discrete ones by Gumbel-max, faster than the distribution's sampler."""
        if self.discrete:
            return sample_onehot(self.mean(self.net(feat)))
        return self(feat).sample()
