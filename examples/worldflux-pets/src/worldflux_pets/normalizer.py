"""Running mean and variance of the inputs and targets, stored as buffers so they save with the weights."""

from __future__ import annotations

import torch
from torch import nn


class Normalizer(nn.Module):
    """Feature-wise running statistics over every sample passed to :meth:`update`.

    The ensemble sees inputs and targets of unit scale whatever the
    environment's units, and one output dimension (a large angular velocity)
    cannot drown the others in the likelihood.
    """

    def __init__(self, dim: int, eps: float = 1e-4) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("var", torch.ones(dim))
        self.register_buffer("count", torch.zeros(()))
        self.eps = eps

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Merge the statistics of ``x [N, dim]`` into the running ones (Chan et al.'s parallel update)."""
        x = x.reshape(-1, self.mean.shape[0]).to(self.mean.dtype)
        n = x.shape[0]
        if n == 0:
            return
        batch_mean = x.mean(0)
        batch_var = x.var(0, unbiased=False)
        total = self.count + n
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * n + delta.pow(2) * self.count * n / total
        self.mean.add_(delta * n / total)
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    @property
    def std(self) -> torch.Tensor:
        return (self.var + self.eps).sqrt()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        """Only rescale (for differences and standard deviations)."""
        return x * self.std
