"""TD-MPC2 building blocks: Linear -> LayerNorm -> Mish blocks, SimNorm, and a batched Q ensemble."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SimNorm(nn.Module):
    """Softmax over consecutive groups of ``dim`` features (simplicial normalisation)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (-1, self.dim)).softmax(-1).flatten(-2)


class NormedLinear(nn.Linear):
    """Linear -> (dropout) -> LayerNorm -> activation (Mish unless given)."""

    def __init__(self, inp: int, out: int, act: nn.Module | None = None, dropout: float = 0.0) -> None:
        super().__init__(inp, out)
        self.ln = nn.LayerNorm(out)
        self.act = act if act is not None else nn.Mish()
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.ln(self.dropout(super().forward(x))))


def mlp(inp: int, hidden: list[int], out: int, act: nn.Module | None = None) -> nn.Sequential:
    """Hidden NormedLinear blocks, then a NormedLinear with ``act`` (e.g. SimNorm) or a plain Linear."""
    dims = [inp, *hidden]
    layers: list[nn.Module] = [NormedLinear(a, b) for a, b in zip(dims[:-1], dims[1:])]
    layers.append(NormedLinear(dims[-1], out, act=act) if act is not None else nn.Linear(dims[-1], out))
    return nn.Sequential(*layers)


def init_weights(module: nn.Module) -> None:
    """Official initialisation: truncated normal (std 0.02) weights, zero biases; task embeddings U(-0.02, 0.02)."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.uniform_(module.weight, -0.02, 0.02)


class EnsembleMLP(nn.Module):
    """``n`` independent 2-hidden-layer Q networks evaluated as one batched computation.

    Each member is NormedLinear(dropout) -> NormedLinear -> Linear; weights are
    stacked ``[n, in, out]`` and applied with ``baddbmm``, so the ensemble costs
    three batched matmuls instead of ``3 n`` small ones.
    """

    def __init__(self, n: int, inp: int, hidden: int, out: int, dropout: float) -> None:
        super().__init__()
        self.dropout = dropout
        shapes = [(inp, hidden), (hidden, hidden), (hidden, out)]
        self.weights = nn.ParameterList([nn.Parameter(torch.empty(n, a, b)) for a, b in shapes])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(n, 1, b)) for _, b in shapes])
        self.ln_weights = nn.ParameterList([nn.Parameter(torch.ones(n, 1, hidden)) for _ in range(2)])
        self.ln_biases = nn.ParameterList([nn.Parameter(torch.zeros(n, 1, hidden)) for _ in range(2)])
        for w in self.weights:
            nn.init.trunc_normal_(w, std=0.02)
        nn.init.zeros_(self.weights[-1])  # zero-initialised output layer

    def forward(self, x: torch.Tensor, params: list[torch.Tensor] | None = None) -> torch.Tensor:
        """``x [..., in]`` -> ``[n, ..., out]``; ``params`` replaces the weights (e.g. target copies)."""
        w1, w2, w3, b1, b2, b3, g1, g2, s1, s2 = params if params is not None else self.flat_params()
        lead = x.shape[:-1]
        h = x.reshape(1, -1, x.shape[-1]).expand(w1.shape[0], -1, -1)
        h = torch.baddbmm(b1, h, w1)
        # one draw over the contiguous [n, ...] stack: the official vmap(randomness="different") draws the
        # same masks from the same generator state (tests/test_parity.py)
        h = F.dropout(h, self.dropout, self.training)
        h = F.mish(F.layer_norm(h, h.shape[-1:]) * g1 + s1)
        h = F.mish(F.layer_norm(torch.baddbmm(b2, h, w2), h.shape[-1:]) * g2 + s2)
        out = torch.baddbmm(b3, h, w3)
        return out.reshape(out.shape[0], *lead, out.shape[-1])

    def flat_params(self) -> list[torch.Tensor]:
        return [*self.weights, *self.biases, *self.ln_weights, *self.ln_biases]
