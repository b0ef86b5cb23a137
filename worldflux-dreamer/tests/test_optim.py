"""LaProp as the official DreamerV3 runs it under XLA, which flushes float32 denormals to zero."""

from __future__ import annotations

import pytest
import torch

from worldflux_dreamer.optim import LaProp


def _first_step(grad: float) -> float:
    p = torch.nn.Parameter(torch.ones(1))
    opt = LaProp([p], lr=1.0, agc=0.0, eps=1e-20, beta1=0.9, beta2=0.999, warmup=0)
    p.grad = torch.tensor([grad])
    opt.step()
    return 1.0 - p.item()


def test_a_normal_gradient_moves_its_parameter_by_one_learning_rate() -> None:
    assert _first_step(1e-3) == pytest.approx(1.0, rel=1e-4)  # float32 arithmetic around the parameter's 1.0
    assert _first_step(-2e-15) == pytest.approx(-1.0, rel=1e-4)


def test_a_gradient_whose_square_is_denormal_meets_a_zero_rms_as_under_xla() -> None:
    # 1e-19 ** 2 is below float32's smallest normal: XLA flushes it, so the step is g / eps = 10 learning rates
    assert _first_step(1e-19) == pytest.approx(10.0, rel=1e-5)
