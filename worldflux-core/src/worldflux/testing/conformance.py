"""The WorldModel conformance kit: subclass it in pytest and parametrize ``preset``.

    import pytest
    from worldflux.testing import WorldModelConformance

    @pytest.mark.parametrize("preset", ["mymodel:ci", "mymodel:small"])
    class TestMyModel(WorldModelConformance):
        pass

It checks the protocol methods and their shapes, that the loss is finite and
differentiable, the save/load round trip (weights and every prediction),
determinism under a seed, and that the catalog's declared parameter count is
within 1% of the count measured for the preset's reference spec. When the
preset registers an agent, it also checks the agent as the Trainer uses it:
actions of the right kind, an update that changes the weights and returns
finite scalar metrics, and a checkpoint round trip after which the restored
agent continues exactly as the original.
Override ``build_kwargs`` to pass obs/action specs or config overrides (a config
whose ``obs_space`` is set gets dict observations, one tensor per part), and set
``check_agent = False`` on a class of large presets whose agent is the same code
already checked on a small preset (agent checks plan and update: seconds per
million parameters on a CPU).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import pytest
import torch

from worldflux import WorldModel, create_world_model
from worldflux.state import catalog
from worldflux.training.agent import Agent, make_agent
from worldflux.training.checkpoint import load_checkpoint, save_checkpoint
from worldflux.types import Batch, LatentState

if TYPE_CHECKING:
    from worldflux.types import Observation

PARAM_COUNT_TOLERANCE = 0.01


def _lead(state: LatentState, n: int) -> set[tuple[int, ...]]:
    return {tuple(t.shape[:n]) for t in state.tensors.values()}


def _random_array(shape: tuple[int, ...], lead: tuple[int, ...]) -> torch.Tensor:
    if len(shape) == 3:  # images arrive as uint8, channels first
        return torch.randint(0, 256, (*lead, *shape), dtype=torch.uint8)
    return torch.randn(*lead, *shape)


class WorldModelConformance:
    """Protocol checks run against every preset the subclass is parametrized with."""

    build_kwargs: dict[str, Any] = {}
    check_agent = True
    batch_size = 3
    seq_len = 4
    horizon = 3

    @pytest.fixture
    def model(self, preset: str) -> Any:
        torch.manual_seed(0)
        return create_world_model(preset, device="cpu", **self.build_kwargs)

    # --- inputs ---------------------------------------------------------------

    @staticmethod
    def random_obs(model: Any, *lead: int) -> Observation:
        """Observations ``[*lead, *obs_shape]``; a dict of such parts where the config has ``obs_space`` set."""
        space = getattr(model.config, "obs_space", None)
        if space is not None:
            return {k: _random_array(tuple(shape), lead) for k, shape in space.items()}
        return _random_array(tuple(model.config.obs_shape), lead)

    @staticmethod
    def random_action(model: Any, *lead: int) -> torch.Tensor:
        dim = model.config.action_dim
        if getattr(model.config, "discrete_actions", False):
            index = torch.randint(0, dim, lead)
            return torch.nn.functional.one_hot(index, dim).float()
        return torch.rand(*lead, dim) * 2 - 1

    def random_batch(self, model: Any, batch_size: int | None = None, seq_len: int | None = None) -> Batch:
        """Random sequences ``[B, T]`` (default :attr:`batch_size` x :attr:`seq_len`), one terminal step."""
        b, t = batch_size or self.batch_size, seq_len or self.seq_len
        is_first = torch.zeros(b, t, dtype=torch.bool)
        is_first[:, 0] = True
        is_terminal = torch.zeros(b, t, dtype=torch.bool)
        is_terminal[0, -1] = True
        return Batch(
            obs=self.random_obs(model, b, t),
            action=self.random_action(model, b, t),
            reward=torch.randn(b, t),
            is_first=is_first,
            is_terminal=is_terminal,
        )

    # --- checks ---------------------------------------------------------------

    def test_implements_protocol(self, preset: str, model: Any) -> None:
        assert isinstance(model, WorldModel)
        family = catalog().resolve(preset).family
        assert getattr(model, "family", None) == family, (
            f"{type(model).__name__}.family is {getattr(model, 'family', None)!r}, but {preset} is registered in "
            f"family {family!r}: saved models and agents are found through the class attribute")
        assert attrs.has(type(model.config))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            model.config.action_dim = 1  # configs are frozen
        assert isinstance(model.config.obs_shape, tuple)

    def test_state_shapes(self, model: Any) -> None:
        b = self.batch_size
        initial = model.initial_state(b)
        encoded = model.encode(self.random_obs(model, b))
        assert _lead(initial, 1) == _lead(encoded, 1) == {(b,)}
        prior = model.prior(encoded, self.random_action(model, b))
        posterior = model.posterior(prior, self.random_obs(model, b))
        shapes = {k: v.shape for k, v in encoded.tensors.items()}
        assert {k: v.shape for k, v in prior.tensors.items()} == shapes
        assert {k: v.shape for k, v in posterior.tensors.items()} == shapes

    def test_predict_and_value(self, model: Any) -> None:
        b = self.batch_size
        state = model.encode(self.random_obs(model, b))
        pred = model.predict(state, self.random_action(model, b))
        assert pred.reward.shape == (b,) and pred.cont.shape == (b,)
        assert torch.isfinite(pred.reward).all()
        assert ((pred.cont >= 0) & (pred.cont <= 1)).all()
        assert _lead(pred.state, 1) == {(b,)}
        value = model.value(state)
        assert value.shape == (b,) and torch.isfinite(value).all()

    def test_rollout(self, model: Any) -> None:
        b, h = self.batch_size, self.horizon
        state = model.encode(self.random_obs(model, b))
        traj = model.rollout(state, self.random_action(model, b, h))
        assert traj.rewards.shape == (b, h) and traj.continues.shape == (b, h)
        assert _lead(traj.states, 2) == {(b, h)}
        assert torch.isfinite(traj.rewards).all()

    def test_loss_is_finite_and_differentiable(self, model: Any) -> None:
        out = model.loss(self.random_batch(model))
        assert out.loss.dim() == 0 and torch.isfinite(out.loss)
        for name, metric in out.metrics.items():
            assert metric.dim() == 0 and not metric.requires_grad, name
        out.loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads, "the loss reaches no parameter"
        assert all(torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)

    def test_save_load_round_trip(self, model: Any, tmp_path: Any) -> None:
        model.save_pretrained(tmp_path / "saved")
        loaded = create_world_model(str(tmp_path / "saved"))
        assert type(loaded) is type(model) and loaded.config == model.config
        want, got = model.state_dict(), loaded.state_dict()
        assert want.keys() == got.keys()
        assert all(torch.equal(want[k], got[k]) for k in want)
        obs = self.random_obs(model, self.batch_size)
        action = self.random_action(model, self.batch_size)
        model.eval(), loaded.eval()

        def predictions(m: Any) -> dict[str, torch.Tensor]:
            torch.manual_seed(1)  # the same seed for each: latents may be sampled
            with torch.no_grad():
                state = m.encode(obs)
                pred = m.predict(state, action)
                return {**{f"encode.{k}": v for k, v in state.tensors.items()},
                        **{f"predict.state.{k}": v for k, v in pred.state.tensors.items()},
                        "predict.reward": pred.reward, "predict.cont": pred.cont, "value": m.value(state)}

        want, got = predictions(model), predictions(loaded)
        differ = [k for k in want if not torch.equal(want[k], got[k])]
        assert not differ, f"the reloaded model predicts differently: {differ}"

    def test_declared_param_count(self, preset: str) -> None:
        """The catalog's ``param_count`` is measured, not typed: built on the meta device, it must agree within 1%."""
        record = catalog().resolve(preset)
        assert record.param_count is not None, (
            f"{record.name} declares no param_count; pass the count measured with "
            f"create_world_model({record.name!r}, **reference_spec) to add_preset")
        model = create_world_model(preset, device="meta", **record.reference_spec)
        measured = model.num_parameters()
        assert abs(measured - record.param_count) <= PARAM_COUNT_TOLERANCE * measured, (
            f"{record.name} declares {record.param_count:,} parameters, but builds {measured:,} "
            f"for its reference spec {dict(record.reference_spec)}")

    def test_deterministic_under_seed(self, preset: str) -> None:
        def run() -> tuple[dict[str, torch.Tensor], torch.Tensor]:
            torch.manual_seed(123)
            model = create_world_model(preset, device="cpu", **self.build_kwargs)
            return model.state_dict(), model.loss(self.random_batch(model)).loss

        (w1, l1), (w2, l2) = run(), run()
        assert all(torch.equal(w1[k], w2[k]) for k in w1)
        assert torch.equal(l1, l2)

    # --- the agent (presets that register one) ----------------------------------------

    def agent_for(self, preset: str, model: Any) -> Agent:
        """The preset's registered agent for :attr:`batch_size` environments; skips presets without one."""
        if not self.check_agent:
            pytest.skip(f"{type(self).__name__} sets check_agent = False")
        if catalog().resolve(preset).agent is None:
            pytest.skip(f"{preset} registers no agent, so the Trainer cannot train it")
        return make_agent(model, self.batch_size)

    def agent_batch(self, model: Any, agent: Agent) -> Batch:
        """A batch of the agent's window length, with the replay context its ``replay_context`` asks for."""
        b = self.batch_size
        window = self.random_batch(model, b, agent.window)
        if not agent.replay_context:
            return window
        agent.act(self.random_obs(model, b), torch.ones(b, dtype=torch.bool), True)
        context = {name: value.detach().clone() for name, value in agent.replay_entries().items()}
        assert {name: tuple(value.shape[1:]) for name, value in context.items()} == {
            name: tuple(shape) for name, shape in agent.replay_context.items()}, "replay_entries() shapes differ " \
            "from replay_context"
        return Batch(obs=window.obs, action=window.action, reward=window.reward, is_first=window.is_first,
                     is_terminal=window.is_terminal, context={**context, "action": self.random_action(model, b)})

    def test_agent_acts(self, preset: str, model: Any) -> None:
        agent = self.agent_for(preset, model)
        b, dim = self.batch_size, model.config.action_dim
        for step, explore in enumerate((True, False, True)):
            is_first = torch.full((b,), step == 0, dtype=torch.bool)
            action = agent.act(self.random_obs(model, b), is_first, explore)
            assert action.shape == (b, dim) and torch.isfinite(action).all()
            if getattr(model.config, "discrete_actions", False):  # straight-through samples are one-hot to rounding
                one_hot = torch.nn.functional.one_hot(action.argmax(-1), dim).to(action.dtype)
                assert torch.allclose(action, one_hot, atol=1e-6), f"discrete actions must be one-hot: {action}"
            else:
                assert (action.abs() <= 1).all(), "continuous actions must lie in [-1, 1]"

    def test_agent_update(self, preset: str, model: Any) -> None:
        agent = self.agent_for(preset, model)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        batch = self.agent_batch(model, agent)
        for _ in range(2):  # a learning-rate warm-up may start at zero
            metrics = agent.update(batch)
            assert metrics, "update() returns no metrics"
            for name, value in metrics.items():
                assert isinstance(value, torch.Tensor) and value.dim() == 0, f"metric {name} is not a scalar tensor"
                assert not value.requires_grad and torch.isfinite(value), f"metric {name}: {value}"
        assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items()), \
            "two updates changed no model weight"

    def test_agent_checkpoint_round_trip(self, preset: str, model: Any, tmp_path: Any) -> None:
        """Saved and restored the way the Trainer checkpoints, the agent continues exactly as the original."""
        agent = self.agent_for(preset, model)
        batch = self.agent_batch(model, agent)
        agent.update(batch)
        save_checkpoint(tmp_path, {"model": model.state_dict(), "agent": agent.state_dict()})

        torch.manual_seed(99)  # different initial weights: everything must come from the checkpoint
        restored_model = create_world_model(preset, device="cpu", **self.build_kwargs)
        restored = make_agent(restored_model, self.batch_size)
        tree = load_checkpoint(tmp_path)
        restored_model.load_state_dict(tree["model"])
        restored.load_state_dict(tree["agent"])

        results = []
        for m, a in ((model, agent), (restored_model, restored)):
            torch.manual_seed(5)
            metrics = a.update(batch)
            torch.manual_seed(6)
            action = a.act(self.random_obs(model, self.batch_size), torch.ones(self.batch_size, dtype=torch.bool),
                           False)
            results.append((metrics, action, m.state_dict()))
        (m1, a1, w1), (m2, a2, w2) = results
        differ = [k for k in w1 if not torch.equal(w1[k], w2[k])]
        assert not differ, (f"after the restored agent's next update, weights differ ({differ[:3]}...): "
                            "state_dict() misses optimiser or agent state")
        assert {k: float(v) for k, v in m1.items()} == {k: float(v) for k, v in m2.items()}, \
            "the restored agent's next update reports other metrics"
        assert torch.equal(a1, a2), "the restored agent acts differently"
