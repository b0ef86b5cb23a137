"""Layers initialised as the official DreamerV3: truncated normal on fan-in, zero biases, RMSNorm."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"silu": nn.SiLU, "gelu": nn.GELU, "mish": nn.Mish, "relu": nn.ReLU}


def init_(weight: torch.Tensor, fan_in: int, outscale: float = 1.0) -> None:
    """Truncated normal in [-2, 2] std, scaled to unit variance over ``fan_in`` (official 'trunc_normal_in')."""
    with torch.no_grad():
        nn.init.trunc_normal_(weight, 0.0, 1.0, -2.0, 2.0)
        weight.mul_(1.1368 * math.sqrt(1.0 / fan_in) * outscale)


class Linear(nn.Linear):
    """nn.Linear with the official initialisation; ``outscale=0`` zero-initialises the output layer."""

    def __init__(self, inp: int, out: int, outscale: float = 1.0) -> None:
        super().__init__(inp, out)
        init_(self.weight, inp, outscale)
        nn.init.zeros_(self.bias)


class BlockLinear(nn.Module):
    """A block-diagonal linear layer: ``blocks`` independent maps of ``inp/blocks -> out/blocks``."""

    def __init__(self, inp: int, out: int, blocks: int) -> None:
        super().__init__()
        assert inp % blocks == 0 and out % blocks == 0, (inp, out, blocks)
        self.blocks = blocks
        self.weight = nn.Parameter(torch.empty(blocks, inp // blocks, out // blocks))
        self.bias = nn.Parameter(torch.zeros(out))
        init_(self.weight, inp)  # the official fan-in counts all blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(*x.shape[:-1], self.blocks, -1)
        x = torch.einsum("...ki,kio->...ko", x, self.weight)
        return x.reshape(*x.shape[:-2], -1) + self.bias


class RMSNorm(nn.Module):
    """RMS normalisation over ``dim`` with a learned scale (no shift), eps 1e-4, computed in float32."""

    def __init__(self, size: int, dim: int = -1, eps: float = 1e-4) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps
        self.scale = nn.Parameter(torch.ones(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        if self.dim in (-1, x.dim() - 1):  # torch's own op: one call instead of six, the same values
            return F.rms_norm(x, x.shape[-1:], self.scale, self.eps).to(dtype)
        shape = [1] * x.dim()
        shape[self.dim] = -1
        x = x * torch.rsqrt(x.square().mean(self.dim, keepdim=True) + self.eps) * self.scale.view(shape)
        return x.to(dtype)


class Conv2d(nn.Conv2d):
    """Same-padded convolution with the official initialisation (fan-in = in_channels * k * k)."""

    def __init__(self, inp: int, out: int, kernel: int, outscale: float = 1.0) -> None:
        super().__init__(inp, out, kernel, padding="same")
        init_(self.weight, inp * kernel * kernel, outscale)
        nn.init.zeros_(self.bias)


class NormAct(nn.Sequential):
    """RMSNorm then activation, the official order after every hidden layer."""

    def __init__(self, size: int, act: str, dim: int = -1) -> None:
        super().__init__(RMSNorm(size, dim), ACTIVATIONS[act]())


def mlp(inp: int, units: int, layers: int, act: str) -> nn.Sequential:
    """``layers`` x (Linear -> RMSNorm -> act); the identity when ``layers`` is 0."""
    mods: list[nn.Module] = []
    for i in range(layers):
        mods += [Linear(inp if i == 0 else units, units), NormAct(units, act)]
    return nn.Sequential(*mods)
