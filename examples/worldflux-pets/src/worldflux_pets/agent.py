"""PETS' training object for the WorldFlux Trainer: CEM acting, Adam on the ensemble, transition replay."""

from __future__ import annotations

from typing import Any

import torch

from worldflux.types import Batch
from worldflux_pets.model import PETS
from worldflux_pets.planner import CEMPlanner


class PETSAgent:
    """Random seeding, one burst of updates, then ``updates_per_step`` updates per env step.

    The model is one-step, so the Trainer replays windows of two steps
    (one transition) inside an episode; an update takes ``batch_size``
    transitions per member, and each member trains on its own share.
    """

    window = 2
    within_episode = True
    min_windows = 0  # seeding decides when updates start
    replay_context: dict[str, tuple[int, ...]] = {}  # the state is the observation: nothing to store

    def __init__(self, model: PETS, num_envs: int) -> None:
        c = model.config
        self.model = model
        self.batch_size = c.batch_size * c.ensemble_size
        self.train_ratio = float(c.updates_per_step * self.batch_size * self.window)
        self.seed_steps = c.seed_steps
        self.pretrain_ratio = c.pretrain_updates
        decayed = model.ensemble.weight_matrices()
        ids = {id(p) for p in decayed}
        rest = [p for p in model.parameters() if id(p) not in ids]
        self.optimizer = torch.optim.Adam([{"params": decayed, "weight_decay": c.weight_decay},
                                           {"params": rest, "weight_decay": 0.0}], lr=c.lr)
        self.planner = CEMPlanner(model, num_envs)

    def act(self, obs: torch.Tensor, is_first: torch.Tensor, explore: bool) -> torch.Tensor:
        """The CEM plan's first action. ``explore`` changes nothing: as in the paper, the sampling
        in CEM and in the ensemble's rollouts is the only exploration."""
        return self.planner.act(obs, is_first)

    def replay_entries(self) -> dict[str, torch.Tensor]:
        return {}

    def update(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Update the normalisers with the batch, then one Adam step on the ensemble's loss."""
        self.model.observe(batch)
        out = self.model.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        self.optimizer.step()
        return {**out.metrics, "loss": out.loss.detach()}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "plan_mean": self.planner.prev_mean.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        plan = state["plan_mean"]
        if tuple(plan.shape) != tuple(self.planner.prev_mean.shape):
            raise ValueError(f"the saved plan has shape {tuple(plan.shape)}, this agent's is "
                             f"{tuple(self.planner.prev_mean.shape)} (another num_envs, horizon or action size)")
        self.optimizer.load_state_dict(state["optimizer"])
        self.planner.prev_mean = plan.to(self.planner.prev_mean.device).clone()

    def compile(self) -> None:
        self.model.loss = torch.compile(self.model.loss)  # type: ignore[method-assign]
        self.planner.returns = torch.compile(self.planner.returns)  # type: ignore[method-assign]
