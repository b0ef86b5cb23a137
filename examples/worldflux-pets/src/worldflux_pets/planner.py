"""Model-predictive control with PETS: CEM over action sequences scored by trajectory sampling (TS-inf)."""

from __future__ import annotations

import torch

from worldflux_pets.cem import cem
from worldflux_pets.model import PETS


class CEMPlanner:
    """Replans every step for ``num_envs`` environments at once, warm-started from its previous plan.

    A candidate sequence is scored by ``particles`` rollouts through the
    ensemble, ``particles / M`` carried by each member for the whole horizon
    (TS-inf), each sampling the member's Gaussian; the score is the mean over
    particles of the summed predicted rewards.
    """

    def __init__(self, model: PETS, num_envs: int) -> None:
        c = model.config
        self.model = model
        self.prev_mean = torch.zeros(num_envs, c.horizon, c.action_dim, device=model.input_norm.mean.device)

    @torch.no_grad()
    def returns(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Mean predicted return ``[E, N]`` of ``actions [E, N, H, A]`` from ``obs [E, D]``."""
        c = self.model.config
        m, per = c.ensemble_size, c.particles // c.ensemble_size
        e, n, h, a = actions.shape
        o = obs[None, :, None, None].expand(m, e, n, per, obs.shape[-1]).reshape(m, -1, obs.shape[-1])
        acts = actions[None, :, :, None].expand(m, e, n, per, h, a).reshape(m, -1, h, a)
        total = torch.zeros(o.shape[:2], device=o.device)
        for t in range(h):
            o, reward = self.model.step_members(o, acts[:, :, t])
            total = total + reward
        return total.view(m, e, n, per).mean((0, 3))

    @torch.no_grad()
    def act(self, obs: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
        """The first action ``[E, A]`` of the CEM plan; ``first [E]`` marks episode starts (no warm start)."""
        c = self.model.config
        obs = obs.float()
        if obs.shape[0] != self.prev_mean.shape[0]:
            raise ValueError(f"this planner acts in {self.prev_mean.shape[0]} environments; got observations "
                             f"for {obs.shape[0]}")
        mean = torch.zeros_like(self.prev_mean)
        mean[:, :-1] = self.prev_mean[:, 1:]  # the last plan, one step on; its new last step starts at 0
        mean[first.to(mean.device).bool()] = 0.0
        std = torch.full_like(mean, c.init_std)
        mean, _ = cem(lambda seqs: self.returns(obs, seqs), mean, std, iterations=c.iterations,
                      population=c.population, elites=c.elites, alpha=c.alpha)
        self.prev_mean = mean
        return mean[:, 0].clamp(-1.0, 1.0)
