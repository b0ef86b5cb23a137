"""LaProp with adaptive gradient clipping and linear warm-up, as the official DreamerV3 optimiser.

Per parameter: clip the gradient to ``agc * max(1e-3, ||param||)``, divide by
the bias-corrected RMS of past gradients (LaProp normalises *before*
momentum), then take bias-corrected momentum and scale by the learning rate.
The squared gradients and their average are flushed to zero below the smallest
normal float32, as XLA does on CPU and GPU: a gradient under about 1e-19 then
meets a zero RMS and moves its parameter by ``lr * g / eps``, as officially.
"""

from __future__ import annotations

from typing import Iterable

import torch

TINY = torch.finfo(torch.float32).tiny  # XLA flushes denormals (below this) to zero


def _flush_(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Zero, in place, the entries of non-negative ``tensors`` below float32's smallest normal."""
    for t in tensors:
        t.masked_fill_(t < TINY, 0.0)
    return tensors


class LaProp(torch.optim.Optimizer):
    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, agc: float, eps: float,
                 beta1: float, beta2: float, warmup: int) -> None:
        super().__init__(params, dict(lr=lr, agc=agc, eps=eps, beta1=beta1, beta2=beta2, warmup=warmup))

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if not state:
                    state["step"] = torch.zeros((), device=p.device)
                    state["nu"] = torch.zeros_like(p)
                    state["mu"] = torch.zeros_like(p)
            grads = [p.grad for p in params]
            if group["agc"]:
                unorm = torch.stack(torch._foreach_norm(grads))
                pnorm = torch.stack(torch._foreach_norm(params)).clamp(min=1e-3)
                factor = 1 / torch.clamp(unorm / (group["agc"] * pnorm), min=1.0)
                grads = torch._foreach_mul(grads, list(factor.unbind()))
            step = states[0]["step"] + 1
            for state in states:
                state["step"] = step
            b1, b2 = group["beta1"], group["beta2"]
            nus, mus = [s["nu"] for s in states], [s["mu"] for s in states]
            torch._foreach_lerp_(nus, _flush_(torch._foreach_mul(grads, grads)), 1 - b2)
            _flush_(nus)
            denom = torch._foreach_sqrt(torch._foreach_div(nus, 1 - b2**step))
            torch._foreach_add_(denom, group["eps"])
            torch._foreach_lerp_(mus, torch._foreach_div(grads, denom), 1 - b1)
            lr = group["lr"] * (torch.clamp((step - 1) / group["warmup"], max=1.0) if group["warmup"] else 1.0)
            scale = -lr / (1 - b1**step)
            torch._foreach_add_(params, torch._foreach_mul(mus, scale))
