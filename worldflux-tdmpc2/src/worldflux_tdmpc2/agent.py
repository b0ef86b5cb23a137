"""TD-MPC2 as a Trainer agent: MPPI acting, one update per env step after random seeding."""

from __future__ import annotations

from typing import Any

import torch

from worldflux.types import Batch
from worldflux_tdmpc2.model import TDMPC2
from worldflux_tdmpc2.planner import Planner


class TDMPC2Agent:
    """The official schedule: ``seed_steps`` random steps, then as many updates at once, then one per step.

    Sequences of ``horizon + 1`` steps stay inside one episode; the default
    train ratio ``batch_size * (horizon + 1)`` is one update per env step.
    """

    within_episode = True
    pretrain_ratio = 1.0
    min_windows = 0  # seeding decides when updates start
    replay_context: dict[str, tuple[int, ...]] = {}  # the latent is a function of the observation: nothing to store

    def __init__(self, model: TDMPC2, num_envs: int) -> None:
        c = model.config
        self.model = model
        self.window, self.batch_size = c.horizon + 1, c.batch_size
        self.train_ratio = float(c.batch_size * (c.horizon + 1))
        self.seed_steps = c.seed_steps
        self.optimizers = model.make_optimizer()
        self.planner = Planner(model, num_envs)

    def act(self, obs: torch.Tensor, is_first: torch.Tensor, explore: bool) -> torch.Tensor:
        return self.planner.act(obs.float(), is_first, explore)

    def replay_entries(self) -> dict[str, torch.Tensor]:
        return {}

    def update(self, batch: Batch) -> dict[str, torch.Tensor]:
        return self.model.update(batch, self.optimizers)

    def state_dict(self) -> dict[str, Any]:
        model_opt, pi_opt = self.optimizers
        return {"model_optimizer": model_opt.state_dict(), "pi_optimizer": pi_opt.state_dict(),
                "plan_mean": self.planner.prev_mean}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        model_opt, pi_opt = self.optimizers
        model_opt.load_state_dict(state["model_optimizer"])
        pi_opt.load_state_dict(state["pi_optimizer"])
        self.planner.prev_mean = state["plan_mean"]

    def compile(self) -> None:
        self.model.loss = torch.compile(self.model.loss)  # type: ignore[method-assign]
        self.planner.estimate_value = torch.compile(self.planner.estimate_value)  # type: ignore[method-assign]
