"""Return normalisation by an EMA of the 5th-95th percentile range."""

from __future__ import annotations

import torch
from torch import nn


class PercentileNormalizer(nn.Module):
    """Tracks EMAs of two percentiles of the returns; the scale is ``max(limit, hi - lo)``."""

    def __init__(self, rate: float, limit: float, low: float, high: float) -> None:
        super().__init__()
        self.rate, self.limit = rate, limit
        self.register_buffer("quantiles", torch.tensor([low / 100, high / 100]))
        self.register_buffer("lo", torch.zeros(()))
        self.register_buffer("hi", torch.zeros(()))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        lo, hi = torch.quantile(x.detach().float().flatten(), self.quantiles)
        self.lo.lerp_(lo, self.rate)
        self.hi.lerp_(hi, self.rate)

    def scale(self) -> torch.Tensor:
        return torch.clamp(self.hi - self.lo, min=self.limit)
