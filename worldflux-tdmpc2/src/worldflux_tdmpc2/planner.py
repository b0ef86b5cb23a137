"""Acting with TD-MPC2: MPPI over the latent model, warm-started from the previous plan."""

from __future__ import annotations

from typing import Mapping

import torch

from worldflux_tdmpc2.functional import two_hot_inv
from worldflux_tdmpc2.model import TDMPC2
from worldflux_tdmpc2.mppi import mppi, pick_elite


class Planner:
    """Plans for ``num_envs`` environments at once; keeps each one's previous mean for warm starts.

    A multi-task model takes observations ``{"obs": [E, D], "task": [E]}``, one task per environment.
    """

    def __init__(self, model: TDMPC2, num_envs: int = 1) -> None:
        self.model = model
        c = model.config
        self.prev_mean = torch.zeros(num_envs, c.horizon, c.action_dim, device=model.qs.weights[0].device)
        self.last_std = torch.full_like(self.prev_mean, c.max_std)  # the final MPPI std of the last act()

    @torch.no_grad()
    def estimate_value(self, z: torch.Tensor, actions: torch.Tensor, task: torch.Tensor | None = None
                       ) -> torch.Tensor:
        """Discounted model rewards over the horizon plus ``Q(z_H, pi(z_H))``: ``[E, N]``.

        ``task [E]`` (multi-task) picks each problem's embedding and discount.
        """
        m, c = self.model, self.model.config
        ret = torch.zeros(actions.shape[:2], device=z.device)
        discount = torch.ones_like(ret)
        alive = torch.ones_like(ret)
        gamma: float | torch.Tensor = c.discount
        if task is not None:
            task, gamma = task[:, None], m.discounts[task][:, None]
        for t in range(actions.shape[2]):
            a = actions[:, :, t]
            ret = ret + discount * alive * two_hot_inv(m.reward_logits(z, a, task), m.bins)
            z = m.next(z, a, task)
            discount = discount * gamma
            if m.termination is not None:
                alive = alive * (torch.sigmoid(m.termination_logits(z, task)).squeeze(-1) <= 0.5).float()
        return ret + discount * alive * m.q(z, m.policy_sample(z, task)[0], "avg", task=task)

    @torch.no_grad()
    def act(self, obs: torch.Tensor | Mapping[str, torch.Tensor], first: torch.Tensor, explore: bool
            ) -> torch.Tensor:
        """Actions ``[E, A]`` for observations ``[E, D]``; ``first [E]`` marks episode starts (no warm start)."""
        m, c = self.model, self.model.config
        m.eval()
        state = m.encode(obs)
        z, task = state["z"], state.tensors.get("task")
        pi_task = None if task is None else task[:, None]
        if not c.mpc:
            action, mean, _, _ = m.policy_sample(z, task)
            return action if explore else mean
        e = z.shape[0]
        fixed = torch.empty(e, c.num_pi_trajs, c.horizon, c.action_dim, device=z.device)
        if c.num_pi_trajs:
            zp = z[:, None].expand(-1, c.num_pi_trajs, -1)
            for t in range(c.horizon):
                fixed[:, :, t] = m.policy_sample(zp, pi_task)[0]
                if t < c.horizon - 1:
                    zp = m.next(zp, fixed[:, :, t], pi_task)
        mean = torch.zeros_like(self.prev_mean)
        mean[:, :-1] = self.prev_mean[:, 1:]
        mean[first.to(mean.device)] = 0.0
        zs = z[:, None].expand(-1, c.num_samples, -1)
        mean, std, elites, score = mppi(
            lambda actions: self.estimate_value(zs, actions, task), mean, fixed,
            iterations=c.mppi_iterations, num_samples=c.num_samples, num_elites=c.num_elites,
            temperature=c.temperature, min_std=c.min_std, max_std=c.max_std,
            mask=None if task is None else m.action_masks[task])
        action = pick_elite(elites, score)[:, 0]
        if explore:
            action = action + std[:, 0] * torch.randn_like(action)
        self.prev_mean, self.last_std = mean, std
        return action.clamp(-1, 1)
