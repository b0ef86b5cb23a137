"""Golden values of DreamerV3's stateless pieces."""

import math

import pytest
import torch

from worldflux_dreamer.functional import (categorical_kl, lambda_return, over_classes, sample_onehot, symexp, symlog,
                                          twohot_bins, twohot_encode, twohot_loss, twohot_mean, unimix_logits)


def test_symlog_symexp_golden_and_inverse():
    x = torch.tensor([-100.0, -1.0, 0.0, 1.0, math.e - 1])
    assert torch.allclose(symlog(x), torch.tensor([-math.log(101), -math.log(2), 0.0, math.log(2), 1.0]))
    assert torch.allclose(symexp(symlog(x)), x, rtol=1e-5)


def test_bins_are_symmetric_symexp_spaced():
    bins = twohot_bins(255)
    assert bins.shape == (255,) and bins[127] == 0
    assert torch.equal(bins, -bins.flip(0))
    assert torch.allclose(bins[0], -torch.expm1(torch.tensor(20.0)))
    assert torch.allclose(symlog(bins[128:]).diff(), torch.full((126,), 20 / 127), atol=1e-4)


@pytest.mark.parametrize("value", [0.0, 0.3, -2.5, 17.0, 1234.5])
def test_twohot_round_trip(value):
    bins = twohot_bins(255)
    enc = twohot_encode(torch.tensor([value]), bins)
    assert torch.allclose(enc.sum(-1), torch.ones(1)) and (enc > 0).sum() <= 2
    assert torch.allclose((enc * bins).sum(-1), torch.tensor([value]), rtol=1e-5, atol=1e-6)
    logits = torch.log(enc.clamp(min=1e-30))
    assert torch.allclose(twohot_mean(logits, bins), torch.tensor([value]), rtol=1e-4, atol=1e-5)


def test_uniform_logits_mean_exactly_zero_and_loss_ln_bins():
    bins = twohot_bins(255)
    logits = torch.zeros(4, 255)
    assert torch.equal(twohot_mean(logits, bins), torch.zeros(4))
    assert torch.allclose(twohot_loss(logits, torch.tensor([0.0, 1.0, -5.0, 300.0]), bins),
                          torch.full((4,), math.log(255)))


@pytest.mark.parametrize("n", [255, 256])
def test_twohot_loss_is_the_dense_cross_entropy_exactly(n):
    bins = twohot_bins(n)
    torch.manual_seed(0)
    # inside the range, on bins (0 twice when n is even), and beyond both ends (one bin takes all the weight)
    target = torch.cat([torch.randn(200) * 50, bins[::17][:12], torch.tensor([0.0, -0.0, 1e12, -1e12])]).reshape(4, -1)
    logits = torch.randn(*target.shape, n, requires_grad=True)
    dense = -(twohot_encode(target, bins) * logits.log_softmax(-1)).sum(-1)
    loss = twohot_loss(logits, target, bins)
    assert torch.equal(loss, dense)
    (grad_dense,) = torch.autograd.grad(dense.sum(), logits)
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    assert torch.allclose(grad, grad_dense, atol=1e-7)


@pytest.mark.parametrize("classes", [2, 4, 16])
def test_over_classes_gives_what_the_op_gives_along_the_last_axis(classes):
    logits = torch.randn(64, 32, classes) * 3
    assert torch.allclose(over_classes(torch.softmax, logits), logits.softmax(-1), atol=1e-7)
    assert torch.equal(over_classes(torch.log_softmax, logits), logits.log_softmax(-1))
    argmax = over_classes(lambda x, dim: x.argmax(dim, keepdim=True), logits)
    assert argmax.shape == (64, 32, 1) and torch.equal(argmax, logits.argmax(-1, keepdim=True))
    assert torch.equal(over_classes(torch.softmax, logits[0, 0]), logits[0, 0].softmax(-1))  # a single group


@pytest.mark.parametrize("shape", [(64, 32, 4), (64, 3)])
def test_sample_onehot_is_gumbel_max_per_group_with_straight_through_gradients(shape):
    logits = unimix_logits(torch.randn(*shape) * 2, 0.01).requires_grad_()  # the latents' come transposed
    torch.manual_seed(3)
    sample = sample_onehot(logits)
    torch.manual_seed(3)
    gumbel = -torch.empty_like(logits).exponential_().log()
    expected = torch.nn.functional.one_hot((logits.detach() + gumbel).argmax(-1), shape[-1]).float()
    assert torch.allclose(sample, expected, atol=1e-6) and torch.equal(sample.argmax(-1), expected.argmax(-1))
    (grad,) = torch.autograd.grad((sample * torch.arange(shape[-1])).sum(), logits)
    (probs_grad,) = torch.autograd.grad((logits.softmax(-1) * torch.arange(shape[-1])).sum(), logits)
    assert torch.allclose(grad, probs_grad, atol=1e-6)


def test_lambda_return_hand_worked():
    # rew[t] arrives with step t; rets of steps 0, 1 with lambda 0.5, discount 0.9, no terminals.
    rew = torch.tensor([[0.0, 1.0, 2.0]])
    boot = torch.tensor([[10.0, 20.0, 30.0]])
    zeros = torch.zeros(1, 3)
    ret = lambda_return(zeros, zeros, rew, boot, 0.9, 0.5)
    r1 = 2.0 + 0.9 * 30.0  # last step bootstraps fully: 29
    r0 = 1.0 + 0.9 * (0.5 * 20.0 + 0.5 * r1)  # 1 + 0.9 * 24.5 = 23.05
    assert torch.allclose(ret, torch.tensor([[r0, r1]]))
    term = torch.tensor([[0.0, 0.0, 1.0]])  # terminal at step 2: no bootstrap past it
    ret = lambda_return(zeros, term, rew, boot, 0.9, 0.5)
    assert torch.allclose(ret[0, 1], torch.tensor(2.0))


def test_unimix_mixes_one_percent_uniform():
    logits = torch.tensor([[100.0, 0.0, 0.0, 0.0]])
    probs = unimix_logits(logits, 0.01).softmax(-1)
    assert torch.allclose(probs, torch.tensor([[0.99 + 0.0025, 0.0025, 0.0025, 0.0025]]), atol=1e-6)


def test_kl_is_summed_over_latents_and_zero_for_equal():
    a = torch.randn(2, 32, 4)
    assert torch.allclose(categorical_kl(a, a), torch.zeros(2), atol=1e-6)
    b = torch.randn(2, 32, 4)
    per = (a.softmax(-1) * (a.log_softmax(-1) - b.log_softmax(-1))).sum(-1)
    assert torch.allclose(categorical_kl(a, b), per.sum(-1), atol=1e-5)


def test_under_bf16_autocast_distributions_are_computed_in_float32():
    """CPU autocast leaves softmax and sums in bf16; the heads' values, losses, latents and actor must be float32."""
    from worldflux_dreamer.heads import PolicyHead

    torch.manual_seed(0)
    bins = twohot_bins(255)
    logits, latent = (torch.randn(64, 255) * 3).bfloat16(), torch.randn(64, 32, 4).bfloat16()
    with torch.autocast("cpu", torch.bfloat16):
        values, loss = twohot_mean(logits, bins), twohot_loss(logits, torch.randn(64) * 50, bins)
        mixed, kl = unimix_logits(latent, 0.01), categorical_kl(latent, latent.flip(0))
        sample = sample_onehot(latent)
        actor = PolicyHead(16, 16, 1, "silu", 3, False, 0.1, 1.0, 1.0)(torch.randn(8, 16))
        logp = actor.log_prob(actor.sample())
    assert {t.dtype for t in (values, loss, mixed, kl, sample, logp)} == {torch.float32}
    assert torch.equal(values, twohot_mean(logits.float(), bins))  # the bf16 logits, at full precision
    assert torch.equal(kl, categorical_kl(latent.float(), latent.flip(0).float()))
