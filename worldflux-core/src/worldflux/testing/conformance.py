"""The WorldModel conformance kit: subclass it in pytest and parametrize ``preset``.

    import pytest
    from worldflux.testing import WorldModelConformance

    @pytest.mark.parametrize("preset", ["mymodel:ci", "mymodel:small"])
    class TestMyModel(WorldModelConformance):
        pass

It checks the protocol methods and their shapes, that the loss is finite and
differentiable, the save/load round trip, determinism under a seed, and that
the catalog's declared parameter count is within 1% of the count measured
for the preset's reference spec.
Override ``build_kwargs`` to pass obs/action specs or config overrides.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import torch

from worldflux import WorldModel, create_world_model
from worldflux.state import catalog
from worldflux.types import Batch, LatentState

PARAM_COUNT_TOLERANCE = 0.01


def _lead(state: LatentState, n: int) -> set[tuple[int, ...]]:
    return {tuple(t.shape[:n]) for t in state.tensors.values()}


class WorldModelConformance:
    """Protocol checks run against every preset the subclass is parametrized with."""

    build_kwargs: dict[str, Any] = {}
    batch_size = 3
    seq_len = 4
    horizon = 3

    @pytest.fixture
    def model(self, preset: str) -> Any:
        torch.manual_seed(0)
        return create_world_model(preset, device="cpu", **self.build_kwargs)

    # --- inputs ---------------------------------------------------------------

    @staticmethod
    def random_obs(model: Any, *lead: int) -> torch.Tensor:
        shape = tuple(model.config.obs_shape)
        if len(shape) == 3:  # images arrive as uint8, channels first
            return torch.randint(0, 256, (*lead, *shape), dtype=torch.uint8)
        return torch.randn(*lead, *shape)

    @staticmethod
    def random_action(model: Any, *lead: int) -> torch.Tensor:
        dim = model.config.action_dim
        if getattr(model.config, "discrete_actions", False):
            index = torch.randint(0, dim, lead)
            return torch.nn.functional.one_hot(index, dim).float()
        return torch.rand(*lead, dim) * 2 - 1

    def random_batch(self, model: Any) -> Batch:
        b, t = self.batch_size, self.seq_len
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

    def test_implements_protocol(self, model: Any) -> None:
        assert isinstance(model, WorldModel)
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
        model.eval(), loaded.eval()
        with torch.no_grad():  # same seed for each: latents may be sampled
            torch.manual_seed(1)
            a = model.encode(obs)
            torch.manual_seed(1)
            b = loaded.encode(obs)
        assert all(torch.equal(a[k], b[k]) for k in a.tensors)

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
