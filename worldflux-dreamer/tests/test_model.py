"""DreamerV3 model details: presets, initial predictions, free bits, GRU blocks, training steps."""

import math

import pytest
import torch

from worldflux import MODEL_ALIASES, create_world_model
from worldflux.state import catalog
from worldflux.testing import torch_threads
from worldflux.errors import ConfigError
from worldflux.types import Batch
from worldflux_dreamer.agent import DreamerAgent
from worldflux_dreamer.normalize import PercentileNormalizer

# (deter, latents, classes, hidden, units, CNN depth): danijar/dreamerv3 configs.yaml sizeXm, 32 latents each
TABLE = {
    "dreamer:ci": (64, 4, 4, 32, 32, 4), "dreamerv3:size1m": (512, 32, 4, 64, 64, 4),
    "dreamerv3:size12m": (2048, 32, 16, 256, 256, 16), "dreamerv3:size25m": (3072, 32, 24, 384, 384, 24),
    "dreamerv3:size50m": (4096, 32, 32, 512, 512, 32), "dreamerv3:size100m": (6144, 32, 48, 768, 768, 48),
    "dreamerv3:size200m": (8192, 32, 64, 1024, 1024, 64), "dreamerv3:size400m": (12288, 32, 96, 1536, 1536, 96),
    "dreamerv3:official_xl": (8192, 32, 64, 1024, 1024, 64),
}


@pytest.mark.parametrize("name, fields", TABLE.items())
def test_presets_are_the_official_sizes_with_catalog_counts(name, fields):
    preset = catalog().presets[name]
    model = create_world_model(name, device="meta", **preset.reference_spec)
    c = model.config
    assert (c.deter_dim, c.stoch_discrete, c.stoch_classes, c.hidden, c.units, c.cnn_depth) == fields
    assert model.num_parameters() == preset.param_count


def test_official_xl_is_the_official_default():
    c = create_world_model("dreamerv3:official_xl", device="meta").config
    assert (c.deter_dim, c.hidden, c.stoch_discrete, c.stoch_classes, c.cnn_depth, c.units, c.gru_blocks) == (
        8192, 1024, 32, 64, 64, 1024, 8)


def test_aliases():
    assert {a: MODEL_ALIASES[a] for a in ("dreamer", "dreamerv3", "dreamer-ci", "dreamer-small", "dreamer-medium",
                                          "dreamer-large")} == {
        "dreamer": "dreamerv3:size12m", "dreamerv3": "dreamerv3:size12m", "dreamer-ci": "dreamer:ci",
        "dreamer-small": "dreamerv3:size12m", "dreamer-medium": "dreamerv3:size50m",
        "dreamer-large": "dreamerv3:size200m"}


def _batch(model, b=2, t=5):
    c = model.config
    obs = torch.randint(0, 256, (b, t, *c.obs_shape), dtype=torch.uint8) if len(c.obs_shape) == 3 \
        else torch.randn(b, t, *c.obs_shape)
    is_first = torch.zeros(b, t, dtype=torch.bool)
    is_first[:, 0] = True
    return Batch(obs=obs, action=torch.rand(b, t, c.action_dim) * 2 - 1, reward=torch.randn(b, t),
                 is_first=is_first, is_terminal=torch.zeros(b, t, dtype=torch.bool))


def test_initial_reward_and_value_are_exactly_zero_and_losses_ln_255():
    torch.manual_seed(0)
    model = create_world_model("dreamer:ci")
    state = model.encode(torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8))
    pred = model.predict(state, torch.zeros(4, 6))
    assert torch.equal(pred.reward, torch.zeros(4)) and torch.equal(model.value(state), torch.zeros(4))
    out = model.loss(_batch(model))
    assert math.isclose(out.metrics["loss/rew"].item(), math.log(255), rel_tol=1e-6)
    feat = model.features(state)
    critic_loss = model.critic.loss(model.critic(feat), torch.tensor([0.0, 3.0, -40.0, 1e4]))
    assert torch.allclose(critic_loss, torch.full((4,), math.log(255)))


def test_free_bits_clip_each_kl_below_one_nat():
    model = create_world_model("dreamer:ci")
    logits = torch.zeros(3, 4, 4)
    dyn, rep = model.rssm.kl_losses(logits, logits)
    assert torch.equal(dyn, torch.ones(3)) and torch.equal(rep, torch.ones(3))


def test_block_gru_shapes_and_block_independence():
    model = create_world_model("dreamer:ci")
    hid, gru = model.rssm.dynhid[0], model.rssm.gru
    # per block: its 8 deter units beside the three 32-wide input projections -> 8 units -> 3 gates x 8
    assert hid.weight.shape == (8, 8 + 3 * 32, 8) and gru.weight.shape == (8, 8, 24)
    x = torch.randn(2, 64 + 8 * 96)
    y = hid(x)
    x2 = x.clone()
    x2[:, :x.shape[1] // 8] += 1.0  # only block 0's inputs change ...
    changed = (hid(x2) - y).abs().reshape(2, 8, -1).sum((0, 2)) > 0
    assert changed.tolist() == [True] + [False] * 7  # ... so only block 0's outputs change


def test_percentile_normalizer():
    norm = PercentileNormalizer(rate=0.5, limit=1.0, low=5.0, high=95.0)
    norm.update(torch.arange(101.0))
    assert torch.allclose(norm.lo, torch.tensor(2.5)) and torch.allclose(norm.hi, torch.tensor(47.5))
    assert torch.allclose(norm.scale(), torch.tensor(45.0))
    small = PercentileNormalizer(rate=1.0, limit=1.0, low=5.0, high=95.0)
    small.update(torch.zeros(10))
    assert small.scale() == 1.0


@pytest.mark.parametrize("spec", [{}, {"obs_shape": (7,), "action_dim": 2, "discrete_actions": True}])
def test_training_steps_reduce_the_world_model_loss(spec):
    torch.manual_seed(0)
    model = create_world_model("dreamer:ci", warmup=0, lr=1e-3, **spec)
    agent = DreamerAgent(model, 1)
    batch = _batch(model)
    first = None
    for _ in range(15):
        metrics = agent.update(batch)
        rec = metrics["loss/rec"].item() + metrics["loss/rew"].item()
        first = first if first is not None else rec
    assert rec < 0.9 * first
    slow, fast = model.slow_critic.net[-1].weight, model.critic.net[-1].weight
    assert not torch.equal(slow, fast) and slow.abs().sum() > 0  # the slow critic follows the critic


@pytest.mark.parametrize("spec, official", [
    ({"obs_shape": (24,), "action_dim": 6}, 640_867),
    ({"obs_shape": (4,), "action_dim": 2, "discrete_actions": True}, 637_381),
    ({"obs_shape": (3, 64, 64), "action_dim": 6, "discrete_actions": True}, 686_456),
])
def test_size1m_parameter_count_equals_the_official_agent(spec, official):
    """Counted by building danijar/dreamerv3 (HEAD e3f02248, jax-cpu) with --configs size1m; see docs/dreamerv3.md."""
    model = create_world_model("dreamerv3:size1m", device="meta", **spec)
    assert model.num_parameters() == official
    assert sum(p.numel() for p in model.slow_critic.parameters()) == sum(p.numel() for p in model.critic.parameters())


@pytest.mark.parametrize("policy, deter, scan", [("PASSIVE", 64, 1), (None, 64, 2), ("PASSIVE", 2048, 2)])
def test_a_small_models_posterior_scan_runs_on_one_thread_while_threads_sleep(monkeypatch, policy, deter, scan):
    """Forward and backward; the heads and the rest of the update keep their threads, and so does the scan of a
    wide model, whose steps gain from them (docs/performance.md)."""
    with torch_threads(monkeypatch, 2, policy):
        torch.manual_seed(0)
        model = create_world_model("dreamer:ci", deter_dim=deter)
        agent = DreamerAgent(model, 1)
        seen: dict[str, set[int]] = {"scan": set(), "heads": set()}
        for name, module in (("scan", model.rssm.post_net), ("heads", model.reward_head)):
            record = lambda *_, name=name: seen[name].add(torch.get_num_threads())  # noqa: E731
            module.register_forward_hook(record)
            module.register_full_backward_hook(record)
        agent.update(_batch(model))
        assert seen == {"scan": {scan}, "heads": {2}} and torch.get_num_threads() == 2


def test_a_replayed_window_starts_from_its_stored_context():
    """replay_context: 1 — the first posterior's deter steps from the stored state with the stored action."""
    import dataclasses

    torch.manual_seed(0)
    model = create_world_model("dreamer:ci", obs_shape=(5,), action_dim=3)
    c, b = model.config, 2
    context = {"deter": torch.randn(b, c.deter_dim), "action": torch.rand(b, c.action_dim) * 2 - 1,
               "stoch": torch.nn.functional.one_hot(torch.randint(0, c.stoch_classes, (b, c.stoch_discrete)),
                                                    c.stoch_classes).float()}
    batch = dataclasses.replace(_batch(model, b), context=context)
    batch.is_first[:, 0] = torch.tensor([False, True])
    with torch.no_grad():
        deter = model.loss(batch).states["deter"][:, 0]
        stepped = model.rssm.core(context["deter"], context["stoch"], context["action"])
        reset = model.rssm.core(*(torch.zeros_like(context[k]) for k in ("deter", "stoch", "action")))
        no_context = model.loss(dataclasses.replace(batch, context=None)).states["deter"][:, 0]
    torch.testing.assert_close(deter[0], stepped[0])  # continues the stored state
    torch.testing.assert_close(deter[1], reset[1])  # an episode start resets it, as without context
    torch.testing.assert_close(no_context, reset)


@pytest.mark.parametrize("changes,message", [
    ({"obs_shape": (8, 8)}, r"obs_shape must be \(C, H, W\) for images or \(D,\) for vectors; got \(8, 8\)"),
    ({"policy_min_std": 2.0}, r"policy_min_std \(2.0\) must not exceed policy_max_std \(1.0\)"),
    ({"lr": float("nan")}, "lr must be a finite number > 0"),
])
def test_a_config_that_cannot_work_is_refused_when_built(changes, message):
    with pytest.raises(ConfigError, match=message):
        create_world_model("dreamer:ci", **changes)
