"""Golden values and official details of TD-MPC2."""

import math

import pytest
import torch
import torch.nn.functional as F

from worldflux import MODEL_ALIASES, create_world_model
from worldflux.state import catalog
from worldflux.testing import torch_threads
from worldflux.errors import ConfigError
from worldflux.types import Batch
from worldflux_tdmpc2.agent import TDMPC2Agent
from worldflux_tdmpc2.functional import make_bins, two_hot, two_hot_inv
from worldflux_tdmpc2.layers import SimNorm, mish
from worldflux_tdmpc2.mppi import mppi
from worldflux_tdmpc2.planner import Planner
from worldflux_tdmpc2.scale import RunningScale

# (latent, MLP, encoder width, encoder layers, Qs): the official MODEL_SIZE table, and the API page's 5m_legacy
TABLE = {"tdmpc2:ci": (32, 32, 32, 2, 2), "tdmpc2:1m": (128, 384, 256, 2, 2), "tdmpc2:5m": (512, 512, 256, 2, 5),
         "tdmpc2:proof_5m": (512, 512, 256, 2, 5), "tdmpc2:5m_legacy": (256, 256, 256, 2, 5),
         "tdmpc2:19m": (768, 1024, 1024, 3, 5), "tdmpc2:48m": (768, 1792, 1792, 4, 5),
         "tdmpc2:317m": (1376, 4096, 4096, 5, 8)}


@pytest.mark.parametrize("name, fields", TABLE.items())
def test_presets_fields_and_catalog_counts(name, fields):
    preset = catalog().presets[name]
    model = create_world_model(name, device="meta", **preset.reference_spec)
    c = model.config
    assert (c.latent_dim, c.hidden_dim, c.enc_dim, c.num_enc_layers, c.num_q_networks) == fields
    assert model.num_parameters() == preset.param_count


def test_earlier_official_names_are_aliases():
    assert {a: MODEL_ALIASES[a] for a in ("tdmpc2:official_1m", "tdmpc2:official_19m", "tdmpc2:official_48m",
                                          "tdmpc2:official_317m")} == {
        "tdmpc2:official_1m": "tdmpc2:1m", "tdmpc2:official_19m": "tdmpc2:19m",
        "tdmpc2:official_48m": "tdmpc2:48m", "tdmpc2:official_317m": "tdmpc2:317m"}
    assert create_world_model("tdmpc2:official_1m", device="meta").preset_name == "tdmpc2:1m"


def test_proof_5m_is_the_official_5m_model():
    """The official code prints 'Learnable parameters: 4,960,618' for obs 24 / action 6 (single task)."""
    model = create_world_model("tdmpc2:proof_5m", device="meta", obs_shape=(24,), action_dim=6)
    c = model.config
    assert (c.enc_dim, c.num_enc_layers, c.hidden_dim, c.latent_dim, c.num_q_networks) == (256, 2, 512, 512, 5)
    assert model.num_parameters() == 4_960_618


def test_aliases_and_overrides():
    assert {a: MODEL_ALIASES[a] for a in ("tdmpc", "tdmpc2", "tdmpc2-ci", "tdmpc-small", "tdmpc-medium",
                                          "tdmpc-large")} == {
        "tdmpc": "tdmpc2:5m", "tdmpc2": "tdmpc2:5m", "tdmpc2-ci": "tdmpc2:ci", "tdmpc-small": "tdmpc2:5m",
        "tdmpc-medium": "tdmpc2:48m", "tdmpc-large": "tdmpc2:317m"}
    model = create_world_model("tdmpc2:19m", obs_shape=(39,), action_dim=6, hidden_dim=768, num_q_networks=7,
                               device="meta")
    assert (model.config.hidden_dim, model.config.num_q_networks) == (768, 7)
    assert model.qs.weights[0].shape == (7, 768 + 6, 768)


@pytest.mark.parametrize("value", [0.0, 0.37, -4.2, 123.0, -2500.0])
def test_two_hot_round_trip_within_one_bin(value):
    x = torch.tensor([value])
    enc = two_hot(x, 101, -10.0, 10.0)
    assert torch.allclose(enc.sum(-1), torch.ones(1))
    decoded = two_hot_inv(torch.log(enc.clamp(min=1e-12)), make_bins(101, -10.0, 10.0))
    bin_width = 20 / 100
    assert abs(math.copysign(math.log1p(abs(decoded.item())), decoded.item())
               - math.copysign(math.log1p(abs(value)), value)) <= bin_width


def test_simnorm_groups_sum_to_one():
    out = SimNorm(8)(torch.randn(3, 64))
    groups = out.reshape(3, 8, 8)
    assert torch.allclose(groups.sum(-1), torch.ones(3, 8)) and (groups > 0).all()


def test_simnorm_is_a_softmax_over_each_group():
    x = torch.randn(2, 5, 64) * 4
    expected = x.reshape(2, 5, 8, 8).softmax(-1).reshape(2, 5, 64)
    torch.testing.assert_close(SimNorm(8)(x), expected, rtol=0, atol=1e-7)


def test_mish_and_its_gradient_equal_torch_mish_to_float_rounding():
    x = torch.cat([torch.linspace(-120, 120, 20001), torch.tensor([0.0, -0.0, 19.99, 20.0, 20.01, 1e6, -1e6])])
    exact = x.double().requires_grad_()
    F.mish(exact).sum().backward()
    fast = x.clone().requires_grad_()
    out = mish(fast)
    out.sum().backward()
    torch.testing.assert_close(out.double(), F.mish(exact).detach(), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(fast.grad.double(), exact.grad, rtol=1e-6, atol=1e-6)
    assert mish(x.bfloat16()).dtype == torch.bfloat16
    assert mish(x.double()).dtype == torch.float64


@pytest.mark.parametrize("length, discount", [(500, 0.99), (200, 0.975), (1000, 0.995), (10, 0.95), (10**6, 0.995)])
def test_discount_rule(length, discount):
    config = create_world_model("tdmpc2:ci", episode_length=length, device="meta").config
    assert config.discount == pytest.approx(discount)


def test_running_scale_tracks_the_percentile_range():
    scale = RunningScale(tau=1.0)
    scale.update(torch.arange(101.0))
    assert torch.allclose(scale.value, torch.tensor(90.0))
    scale.update(torch.zeros(10))  # a range below 1 is clamped to 1
    assert scale.value == 1.0
    slow = RunningScale(tau=0.1)
    slow.update(torch.arange(101.0))
    assert torch.allclose(slow.value, torch.tensor(0.9 + 0.1 * 90))
    assert torch.allclose(slow(torch.tensor([9.9])), torch.tensor([1.0]))


def test_initial_reward_and_q_decode_to_exactly_zero():
    torch.manual_seed(0)
    model = create_world_model("tdmpc2:proof_5m", obs_shape=(24,), action_dim=6)
    z, a = model.encode(torch.randn(4, 24))["z"], torch.rand(4, 6) * 2 - 1
    assert torch.equal(two_hot_inv(model.reward_logits(z, a), model.bins), torch.zeros(4))
    assert torch.equal(model.q(z, a, "avg"), torch.zeros(4))
    assert torch.equal(model.predict(model.encode(torch.randn(4, 24)), a).reward, torch.zeros(4))


def test_under_bf16_autocast_the_heads_are_decoded_in_float32():
    """CPU autocast leaves softmax and sums in bf16; values, losses and policy samples must still be float32."""
    from worldflux_tdmpc2.functional import soft_ce, squashed_gaussian

    torch.manual_seed(0)
    bins = make_bins(101, -10.0, 10.0)
    logits = (torch.randn(64, 101) * 3).bfloat16()
    with torch.autocast("cpu", torch.bfloat16):
        decoded, loss = two_hot_inv(logits, bins), soft_ce(logits, torch.randn(64).bfloat16(), -10.0, 10.0)
        action, mean, entropy, scaled = squashed_gaussian(torch.randn(64, 6).bfloat16(),
                                                          torch.randn(64, 6).bfloat16(), -10.0, 2.0)
        model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2)
        z = model.encode(torch.randn(8, 5))["z"]
        q, sample = model.q(z, torch.rand(8, 2) * 2 - 1), model.policy_sample(z)[0]
    assert {t.dtype for t in (decoded, loss, action, mean, entropy, scaled, q, sample)} == {torch.float32}
    assert torch.equal(decoded, two_hot_inv(logits.float(), bins))  # the bf16 logits, decoded at full precision
    coarse = (logits.softmax(-1) * bins.bfloat16()).sum(-1)  # the expectation in bf16, as autocast would leave it
    assert (coarse.float() - (logits.float().softmax(-1) * bins).sum(-1)).abs().max() > 1e-2


def test_batched_ensemble_equals_separate_networks():
    model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2)
    with torch.no_grad():
        for p in model.qs.parameters():
            p.normal_()
    model.eval()
    x = torch.randn(7, 32 + 2)
    out = model.qs(x)
    for i in range(2):
        w = [p[i] for p in model.qs.flat_params()]
        h = F.mish(F.layer_norm(x @ w[0] + w[3][0], (32,)) * w[6][0] + w[8][0])
        h = F.mish(F.layer_norm(h @ w[1] + w[4][0], (32,)) * w[7][0] + w[9][0])
        assert torch.allclose(out[i], h @ w[2] + w[5][0], atol=1e-5)


@pytest.mark.parametrize("kind, target, train", [("min", True, True), ("avg", False, False), ("avg", False, True)])
def test_two_random_members_equal_those_of_the_whole_ensemble(kind, target, train):
    """Without dropout only the two drawn members are computed; the values and the random draws stay the same."""
    model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2, num_q_networks=5)
    with torch.no_grad():
        for p in [*model.qs.parameters(), *model.target_qs.parameters()]:
            p.normal_()
    model.train(train)
    z, a = torch.randn(6, 32), torch.rand(6, 2) * 2 - 1
    torch.manual_seed(3)
    values = model.q(z, a, kind, target=target)
    after = torch.rand(1)
    torch.manual_seed(3)
    logits = model.q(z, a, "all", target=target)
    members = two_hot_inv(logits[torch.randperm(5)[:2]], model.bins)
    assert torch.allclose(values, members.min(0).values if kind == "min" else members.mean(0), atol=1e-5)
    assert torch.equal(after, torch.rand(1))  # the same draws in the same order (dropout masks, then members)


def test_target_qs_are_a_polyak_average_of_the_q_heads_only():
    model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2, tau=0.25)
    target_before = [p.clone() for p in model.target_qs.parameters()]
    with torch.no_grad():
        for p in model.qs.parameters():
            p.add_(1.0)
    model.soft_update_targets()
    for before, after, q in zip(target_before, model.target_qs.parameters(), model.qs.parameters()):
        assert torch.allclose(after, 0.75 * before + 0.25 * q)
    assert not any(p.requires_grad for p in model.target_qs.parameters())
    assert len(list(model.target_qs.parameters())) == len(list(model.qs.parameters()))


def test_rho_weights_the_consistency_loss():
    torch.manual_seed(0)
    model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2, rho=0.5)
    batch = Batch(obs=torch.randn(4, 4, 5), action=torch.rand(4, 4, 2) * 2 - 1, reward=torch.randn(4, 4),
                  is_first=torch.zeros(4, 4, dtype=torch.bool), is_terminal=torch.zeros(4, 4, dtype=torch.bool))
    out = model.loss(batch)
    zs = out.states["z"].transpose(0, 1)
    target = model.encoder(batch.obs.transpose(0, 1)[1:])
    per_step = (zs[1:] - target).pow(2).mean((1, 2))
    assert torch.allclose(out.metrics["consistency"], (per_step * torch.tensor([1.0, 0.5, 0.25])).sum() / 3)


def test_mppi_finds_the_optimum_of_a_toy_cost():
    torch.manual_seed(0)
    best = torch.tensor([[[0.3, -0.6], [0.8, 0.1], [-0.2, 0.5]]])  # [E=1, H=3, A=2]
    score = lambda actions: -(actions - best[:, None]).pow(2).sum((-1, -2))  # noqa: E731
    mean, std, elites, weights = mppi(score, torch.zeros(1, 3, 2), torch.empty(1, 0, 3, 2), iterations=8,
                                      num_samples=512, num_elites=64, temperature=0.5, min_std=0.05, max_std=2.0)
    assert torch.allclose(mean, best, atol=0.05)
    assert elites.shape == (1, 64, 3, 2) and torch.allclose(weights.sum(1), torch.ones(1))


def test_planner_warm_starts_and_explores_only_when_asked():
    torch.manual_seed(0)
    model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2)
    planner = Planner(model, num_envs=3)
    obs = torch.randn(3, 5)
    first = torch.tensor([True, True, True])
    a = planner.act(obs, first, explore=False)
    assert a.shape == (3, 2) and (a.abs() <= 1).all()
    assert planner.prev_mean.abs().sum() > 0  # the plan is kept for the next step's warm start
    b = planner.act(obs, torch.tensor([False, False, False]), explore=True)
    assert b.shape == (3, 2) and (b.abs() <= 1).all()


def test_update_runs_the_official_step_and_learns_a_fixed_batch():
    torch.manual_seed(0)
    model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2, lr=3e-3)
    agent = TDMPC2Agent(model, 1)
    assert agent.model_optimizer.param_groups[0]["lr"] == pytest.approx(3e-3 * 0.3)
    assert agent.pi_optimizer.defaults["eps"] == 1e-5
    batch = Batch(obs=torch.randn(16, 4, 5), action=torch.rand(16, 4, 2) * 2 - 1, reward=torch.rand(16, 4),
                  is_first=torch.zeros(16, 4, dtype=torch.bool), is_terminal=torch.zeros(16, 4, dtype=torch.bool))
    first = agent.update(batch)
    for _ in range(60):
        last = agent.update(batch)
    assert last["reward"] < 0.5 * first["reward"]
    assert not model.training


@pytest.mark.parametrize("policy, obs, changes, plan, update", [
    ("PASSIVE", (5,), {}, 1, 1),
    (None, (5,), {}, 2, 2),  # spinning threads wake at no cost: nothing changes
    ("PASSIVE", (5,), {"hidden_dim": 512, "batch_size": 256, "num_samples": 512}, 2, 2),
    ("PASSIVE", (3, 64, 64), {"batch_size": 4}, 1, 2),  # the convolutions of a pixel update gain from threads
])
def test_a_small_model_plans_and_updates_on_one_thread_while_threads_sleep(monkeypatch, policy, obs, changes,
                                                                            plan, update):
    """Forward and backward; the thread count is given back afterwards (docs/performance.md)."""
    with torch_threads(monkeypatch, 2, policy):
        torch.manual_seed(0)
        model = create_world_model("tdmpc2:ci", obs_shape=obs, action_dim=2, **changes)
        agent = TDMPC2Agent(model, 1)
        seen: set[int] = set()
        record = lambda *_: seen.add(torch.get_num_threads())  # noqa: E731
        model.reward.register_forward_hook(record)
        model.reward.register_full_backward_hook(record)
        images = obs != (5,)
        x = torch.randint(0, 256, (1, *obs), dtype=torch.uint8) if images else torch.randn(1, *obs)
        agent.act(x, torch.tensor([True]), explore=True)
        assert seen == {plan} and torch.get_num_threads() == 2
        seen.clear()
        b, t = model.config.batch_size, model.config.horizon + 1
        o = torch.randint(0, 256, (b, t, *obs), dtype=torch.uint8) if images else torch.randn(b, t, *obs)
        no = torch.zeros(b, t, dtype=torch.bool)
        agent.update(Batch(obs=o, action=torch.rand(b, t, 2) * 2 - 1, reward=torch.rand(b, t), is_first=no,
                           is_terminal=no))
        assert seen == {update} and torch.get_num_threads() == 2


@pytest.mark.parametrize("name, obs, episodic, official", [
    ("tdmpc2:1m", 24, False, 1_214_651), ("tdmpc2:proof_5m", 39, False, 4_964_458),
    ("tdmpc2:19m", 24, False, 18_062_442), ("tdmpc2:48m", 39, False, 47_235_178),
    ("tdmpc2:317m", 39, False, 312_656_857), ("tdmpc2:5m", 24, True, 5_488_491),
    ("tdmpc2:19m", 39, True, 19_919_979),
])
def test_parameter_counts_equal_the_official_model(name, obs, episodic, official):
    """Counted from nicklashansen/tdmpc2 HEAD e9f5932's WorldModel on CPU (see docs/tdmpc2.md)."""
    model = create_world_model(name, device="meta", obs_shape=(obs,), action_dim=6, episodic=episodic)
    assert model.num_parameters() == official


@pytest.mark.parametrize("changes,message", [
    ({"num_elites": 1000, "num_samples": 16}, r"num_elites \(1000\) must not exceed num_samples \(16\)"),
    ({"num_pi_trajs": 32, "num_samples": 16}, r"num_pi_trajs \(32\) must not exceed num_samples \(16\)"),
    ({"vmin": 5.0, "vmax": 1.0}, r"vmin \(5.0\) must be below vmax \(1.0\)"),
    ({"lr": float("inf")}, "lr must be a finite number > 0"),
    ({"obs_shape": (3, 8, 8)}, r"obs_shape must be a \(D,\) state vector"),
])
def test_a_config_that_cannot_work_is_refused_when_built(changes, message):
    with pytest.raises(ConfigError, match=message):
        create_world_model("tdmpc2:ci", **changes)
