"""The running Q scale of the policy loss: an EMA of the 5th-95th percentile range, at least 1."""

from __future__ import annotations

import torch
from torch import nn


class RunningScale(nn.Module):
    def __init__(self, tau: float) -> None:
        super().__init__()
        self.tau = tau
        self.register_buffer("value", torch.ones(()))
        self.register_buffer("quantiles", torch.tensor([0.05, 0.95]))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        lo, hi = torch.quantile(x.detach().float().flatten(), self.quantiles)
        self.value.lerp_(torch.clamp(hi - lo, min=1.0), self.tau)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / self.value
