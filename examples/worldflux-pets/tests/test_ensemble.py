"""The probabilistic ensemble: independent members, bounded log-variance, the NLL, normalisers."""

import math

import pytest
import torch

from worldflux import create_world_model
from worldflux.errors import ConfigError
from worldflux.types import Batch
from worldflux_pets.ensemble import GaussianEnsemble, gaussian_nll, soft_clamp
from worldflux_pets.normalizer import Normalizer


def pendulum_like_batch(b: int = 64, t: int = 2) -> Batch:
    obs = torch.randn(b, t, 3)
    return Batch(obs=obs, action=torch.rand(b, t, 1) * 2 - 1, reward=torch.randn(b, t),
                 is_first=torch.zeros(b, t, dtype=torch.bool), is_terminal=torch.zeros(b, t, dtype=torch.bool))


def test_members_are_initialised_differently_and_disagree():
    torch.manual_seed(0)
    ens = GaussianEnsemble(4, 3, 2, 16, 2, -10.0, 0.5)
    assert not torch.equal(ens.hidden[0].weight[0], ens.hidden[0].weight[1])
    x = torch.randn(1, 8, 3).expand(4, 8, 3)  # the same inputs for every member
    mean, _ = ens(x)
    assert (mean[0] - mean[1]).abs().max() > 1e-3


def test_soft_clamp_bounds_and_passes_gradients_to_the_bounds():
    low, high = torch.tensor(-2.0, requires_grad=True), torch.tensor(1.0, requires_grad=True)
    x = torch.linspace(-100, 100, 101)
    y = soft_clamp(x, low, high)
    # the upper bound is soft: the lower softplus may lift it by softplus(low - high), as in the paper
    assert (y >= low - 1e-6).all() and (y <= low + torch.nn.functional.softplus(high - low) + 1e-6).all()
    assert torch.allclose(soft_clamp(torch.tensor(-0.5), low, high), torch.tensor(-0.5), atol=0.3)
    y.sum().backward()
    assert low.grad != 0 and high.grad != 0


def test_logvar_stays_inside_the_learned_bounds_for_extreme_inputs():
    torch.manual_seed(0)
    ens = GaussianEnsemble(3, 4, 2, 16, 2, -10.0, 0.5)
    _, logvar = ens(1e4 * torch.randn(3, 32, 4))
    assert logvar.max() <= 0.5 + 1e-4 and logvar.min() >= -10.0 - 1e-5


def test_gaussian_nll_matches_the_closed_form():
    mean, logvar, target = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.2, -0.3]]), torch.tensor([[1.0, 0.0]])
    want = sum((m - t) ** 2 / math.exp(lv) + lv for m, lv, t in [(0.5, 0.2, 1.0), (-1.0, -0.3, 0.0)])
    assert gaussian_nll(mean, logvar, target).item() == pytest.approx(want, rel=1e-6)
    # for a fixed error, the NLL is smallest where the variance equals the squared error
    logvars = torch.linspace(-4, 4, 801)
    nll = gaussian_nll(torch.zeros(801, 1), logvars[:, None], torch.ones(801, 1))
    assert logvars[nll.argmin()].item() == pytest.approx(0.0, abs=0.02)


def test_beta_nll_keeps_fitting_the_mean_where_the_variance_is_high():
    mean = torch.tensor([[1.0]], requires_grad=True)
    logvar, target = torch.tensor([[2.0]]), torch.tensor([[0.0]])
    plain = gaussian_nll(mean, logvar, target)
    (grad_plain,) = torch.autograd.grad(plain.sum(), mean)
    beta = gaussian_nll(mean, logvar, target, beta=0.5)
    (grad_beta,) = torch.autograd.grad(beta.sum(), mean)
    assert beta.item() == pytest.approx(plain.item() * math.exp(1.0), rel=1e-6)
    assert grad_beta.item() == pytest.approx(grad_plain.item() * math.exp(1.0), rel=1e-6)  # var^beta undoes 1/var


def test_normalizer_running_stats_match_the_whole_data():
    torch.manual_seed(0)
    data = torch.randn(1000, 3) * torch.tensor([1.0, 5.0, 0.1]) + torch.tensor([2.0, -1.0, 0.0])
    norm = Normalizer(3)
    for chunk in data.split(137):
        norm.update(chunk)
    assert torch.allclose(norm.mean, data.mean(0), atol=1e-5)
    assert torch.allclose(norm.var, data.var(0, unbiased=False), rtol=1e-4)
    assert torch.allclose(norm.denormalize(norm.normalize(data)), data, atol=1e-4)


def test_each_member_trains_on_its_own_rows():
    torch.manual_seed(0)
    model = create_world_model("pets:ci")
    idx = model._member_batches(10, torch.device("cpu"))
    assert idx.shape == (2, 5) and len(set(idx.flatten().tolist())) == 10  # disjoint shares
    assert model._member_batches(1, torch.device("cpu")).tolist() == [[0], [0]]  # tiny batch: all see all


def test_loss_ignores_transitions_across_episode_starts():
    torch.manual_seed(0)
    model = create_world_model("pets:ci")
    batch = pendulum_like_batch(8)
    crossing = Batch(obs=batch.obs, action=batch.action, reward=batch.reward,
                     is_first=torch.ones_like(batch.is_first), is_terminal=batch.is_terminal)
    out = model.loss(crossing)
    assert out.metrics["valid"] == 0 and torch.isfinite(out.loss)


def test_training_fits_a_known_dynamics_and_reward():
    """Ten seconds of Adam on x' = x + 0.1 a, r = -x^2: the ensemble's mean follows both."""
    from worldflux_pets.agent import PETSAgent

    torch.manual_seed(0)
    model = create_world_model("pets:ci", obs_shape=(1,), action_dim=1, hidden_dim=32, batch_size=64)
    agent = PETSAgent(model, 1)
    for _ in range(400):
        x, a = torch.rand(128, 1) * 4 - 2, torch.rand(128, 1) * 2 - 1
        obs = torch.stack([x, x + 0.1 * a], 1)
        reward = torch.stack([torch.zeros(128), -x[:, 0] ** 2], 1)
        agent.update(Batch(obs=obs, action=torch.stack([a, a], 1), reward=reward,
                           is_first=torch.zeros(128, 2, dtype=torch.bool),
                           is_terminal=torch.zeros(128, 2, dtype=torch.bool)))
    x = torch.linspace(-1.5, 1.5, 7)[:, None]
    a = torch.full_like(x, 0.5)
    nxt, reward = model.step_members(x.expand(2, 7, 1), a.expand(2, 7, 1), sample=False)
    assert (nxt - (x + 0.05)).abs().max() < 0.05
    assert (reward + x[:, 0] ** 2).abs().max() < 0.3


def test_predict_keeps_each_particle_on_its_member():
    torch.manual_seed(0)
    model = create_world_model("pets:ci")
    state = model.encode(torch.randn(6, 3))
    assert state["member"].tolist() == [0, 1, 0, 1, 0, 1]
    traj = model.rollout(state, torch.zeros(6, 4, 1))
    assert traj.states["member"].shape == (6, 4) and (traj.states["member"] == state["member"][:, None]).all()
    assert (traj.continues == 1).all() and (model.value(state) == 0).all()


@pytest.mark.parametrize("fields, message", [
    ({"obs_shape": (3, 64, 64)}, "state vector"),
    ({"particles": 3}, "multiple of ensemble_size"),
    ({"elites": 300}, "must not exceed population"),
    ({"min_logvar": 1.0, "max_logvar": 0.0}, "must not exceed"),
])
def test_config_refuses_what_cannot_work(fields, message):
    with pytest.raises(ConfigError, match=message):
        create_world_model("pets:small", **fields)
