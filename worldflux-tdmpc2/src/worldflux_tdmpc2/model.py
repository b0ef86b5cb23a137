"""TD-MPC2: a decoder-free latent model with a Q ensemble and a policy prior, as nicklashansen/tdmpc2."""

from __future__ import annotations

import copy
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from worldflux.model import WorldModelBase
from worldflux.types import Batch, LatentState, LossOutput, Prediction
from worldflux_tdmpc2.config import TDMPC2Config
from worldflux_tdmpc2.functional import make_bins, soft_ce, squash_log_std, squashed_gaussian, two_hot_inv
from worldflux_tdmpc2.layers import EnsembleMLP, PixelEncoder, SimNorm, init_weights, mlp
from worldflux_tdmpc2.scale import RunningScale


class TDMPC2(WorldModelBase):
    """The TD-MPC2 agent's networks and losses (state observations, one task or several; or pixels, one task).

    State: ``z [B, latent_dim]``. The reward of ``(z, a)`` belongs to that
    transition; ``value(state)`` is ``Q(z, pi(z))``, the average of two random
    members of the ensemble. Its agent (``TDMPC2Agent``) makes the official training step.

    Pixels (``obs_shape (C, 64, 64)``): the encoder is the official conv stack
    (``PixelEncoder``), which takes the images as stored (uint8, values 0..255)
    and shifts them randomly at every encoding, as officially.

    Multi-task (``config.tasks``): observations are mappings ``{"obs": x,
    "task": index}`` and the state keeps ``task`` next to ``z``, so the
    protocol methods work unchanged. The task embedding (max norm 1) is
    concatenated to the input of the encoder, dynamics, reward, termination,
    policy and Qs, as officially; the policy and the planner mask the actions
    a task does not have.
    """

    family = "tdmpc2"

    def __init__(self, config: TDMPC2Config) -> None:
        super().__init__(config)
        c = config
        if c.latent_dim % c.simnorm_dim:
            raise ValueError(f"latent_dim {c.latent_dim} must be a multiple of simnorm_dim {c.simnorm_dim}")
        if c.num_q_networks < 2:
            raise ValueError("num_q_networks must be >= 2: targets take the min of two random Qs")
        _check_tasks(c)
        t = c.task_dim if c.multitask else 0
        self.task_emb = nn.Embedding(len(c.tasks), c.task_dim, max_norm=1) if c.multitask else None
        zt, h = c.latent_dim + t, c.hidden_dim
        self.encoder = (PixelEncoder(c.obs_shape[0], c.conv_channels, SimNorm(c.simnorm_dim)) if c.pixels else
                        mlp(c.obs_shape[0] + t, max(c.num_enc_layers - 1, 1) * [c.enc_dim], c.latent_dim,
                            SimNorm(c.simnorm_dim)))
        self.dynamics = mlp(zt + c.action_dim, [h, h], c.latent_dim, SimNorm(c.simnorm_dim))
        self.reward = mlp(zt + c.action_dim, [h, h], c.num_bins)
        self.termination = mlp(zt, [h, h], 1) if c.episodic else None
        self.pi = mlp(zt, [h, h], 2 * c.action_dim)
        self.apply(init_weights)
        torch.nn.init.zeros_(self.reward[-1].weight)
        self.qs = EnsembleMLP(c.num_q_networks, zt + c.action_dim, h, c.num_bins, c.dropout)
        self.target_qs = copy.deepcopy(self.qs).requires_grad_(False).eval()
        self.scale = RunningScale(c.tau)
        self.register_buffer("bins", make_bins(c.num_bins, c.vmin, c.vmax), persistent=False)
        if c.multitask:  # derived from the config, so not saved
            masks = torch.zeros(len(c.tasks), c.action_dim)
            for i, dim in enumerate(c.task_action_dims):
                masks[i, :dim] = 1.0
            self.register_buffer("action_masks", masks, persistent=False)
            self.register_buffer("discounts", torch.tensor(c.discounts), persistent=False)

    def train(self, mode: bool = True) -> TDMPC2:
        super().train(mode)
        self.target_qs.eval()  # target Qs never use dropout
        return self

    # --- networks -----------------------------------------------------------------
    # ``task`` (multi-task only) holds task indices broadcastable against the
    # leading dims of ``z`` (aligned from the right, e.g. ``[B]`` for ``[T, B, L]``).

    def _input(self, obs: torch.Tensor) -> torch.Tensor:
        """State vectors as float; images as given: the conv encoder scales them after its crop, so a uint8
        batch moves a quarter of the bytes through the copies before it."""
        return obs if self.config.pixels else obs.float()

    def with_task(self, x: torch.Tensor, task: torch.Tensor | None) -> torch.Tensor:
        """``x`` with the task embedding appended (multi-task); ``x`` itself for a single-task model."""
        if self.task_emb is None:
            return x
        if task is None:
            raise ValueError("This TD-MPC2 model is multi-task: pass the task index (observations as "
                             "{'obs': x, 'task': index}).")
        emb = self.task_emb(task.long())
        return torch.cat([x, emb.expand(*x.shape[:-1], -1)], -1)

    def next(self, z: torch.Tensor, a: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        return self.dynamics(torch.cat([self.with_task(z, task), a], -1))

    def reward_logits(self, z: torch.Tensor, a: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        return self.reward(torch.cat([self.with_task(z, task), a], -1))

    def termination_logits(self, z: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        assert self.termination is not None, "termination_logits needs an episodic model"
        return self.termination(self.with_task(z, task))

    def policy(self, state: LatentState) -> torch.distributions.Distribution:
        """The policy prior's action distribution at ``state``: a tanh-squashed Gaussian on ``[-1, 1]``.

        A multi-task model's actions that the state's task lacks are fixed at 0, as officially.
        """
        c = self.config
        z, task = state["z"], self._task(state)
        mean, log_std = self.pi(self.with_task(z, task)).float().chunk(2, -1)  # float32 as in functional
        std = squash_log_std(log_std, c.log_std_min, c.log_std_max).exp()
        if self.task_emb is not None:
            mask = self.action_masks[task]
            mean, std = mean * mask, std * mask + (1 - mask) * 1e-6
        gaussian = torch.distributions.Normal(mean, std)
        return torch.distributions.Independent(
            torch.distributions.TransformedDistribution(gaussian, torch.distributions.TanhTransform(cache_size=1)), 1)

    def policy_sample(self, z: torch.Tensor, task: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """A policy-prior sample: (action, tanh(mean), entropy, scaled entropy); a task's missing actions are 0."""
        c = self.config
        mean, log_std = self.pi(self.with_task(z, task)).chunk(2, -1)
        mask = self.action_masks[task] if self.task_emb is not None else None
        return squashed_gaussian(mean, log_std, c.log_std_min, c.log_std_max, mask)

    def q(self, z: torch.Tensor, a: torch.Tensor, kind: str = "avg", target: bool = False,
          detach: bool = False, task: torch.Tensor | None = None) -> torch.Tensor:
        """Q values: ``"all"`` logits ``[n, ..., bins]``, or ``"min"``/``"avg"`` of two random members.

        The dropout masks of every member are drawn first, as officially, then the two members, so that the
        random draws follow the official order; only the members used are computed.
        """
        x = torch.cat([self.with_task(z, task), a], -1)
        qs = self.target_qs if target else self.qs
        params = [p.detach() for p in qs.flat_params()] if detach else qs.flat_params()
        masks = qs.masks(x[..., 0].numel())
        if kind == "all" or self.config.num_q_networks == 2:  # with two members both are used, in any order
            out = qs(x, params, masks)
        else:
            two = torch.randperm(self.config.num_q_networks, device=x.device)[:2]
            out = qs(x, [p[two] for p in params], None if masks is None else masks[two])
        if kind == "all":
            return out
        values = two_hot_inv(out, self.bins)
        return values.min(0).values if kind == "min" else values.mean(0)

    # --- protocol ---------------------------------------------------------------

    def _state(self, z: torch.Tensor, task: torch.Tensor | None) -> LatentState:
        return LatentState({"z": z} if task is None else {"z": z, "task": task})

    @staticmethod
    def _task(state: LatentState) -> torch.Tensor | None:
        return state.tensors.get("task")

    def initial_state(self, batch_size: int) -> LatentState:
        z = self.qs.weights[0].new_zeros(batch_size, self.config.latent_dim)
        return self._state(z, z.new_zeros(batch_size, dtype=torch.long) if self.task_emb is not None else None)

    def encode(self, obs: torch.Tensor | Mapping[str, Any]) -> LatentState:
        task = None
        if isinstance(obs, Mapping):
            obs, task = obs["obs"], obs.get("task")
        x = self._input(obs)
        if task is not None:  # one index per observation: [B] for [B, T, D] is broadcast over time
            task = torch.as_tensor(task, device=x.device).long()
            task = task.reshape(*task.shape, *[1] * (x.dim() - 1 - task.dim())).expand(x.shape[:-1])
        return self._state(self.encoder(self.with_task(x, task)), task if self.task_emb is not None else None)

    def prior(self, state: LatentState, action: torch.Tensor) -> LatentState:
        task = self._task(state)
        return self._state(self.next(state["z"], action, task), task)

    def posterior(self, state: LatentState, obs: torch.Tensor | Mapping[str, Any]) -> LatentState:
        return self.encode(obs)  # the latent is a function of the observation alone

    def predict(self, state: LatentState, action: torch.Tensor) -> Prediction:
        z, task = state["z"], self._task(state)
        nxt = self.next(z, action, task)
        reward = two_hot_inv(self.reward_logits(z, action, task), self.bins)
        if self.termination is None:
            cont = torch.ones_like(reward)
        else:
            cont = 1 - torch.sigmoid(self.termination_logits(nxt, task)).squeeze(-1)
        return Prediction(self._state(nxt, task), reward, cont)

    def value(self, state: LatentState) -> torch.Tensor:
        z, task = state["z"], self._task(state)
        return self.q(z, self.policy_sample(z, task)[0], "avg", task=task)

    # --- training ---------------------------------------------------------------

    def loss(self, batch: Batch) -> LossOutput:
        """The world-model loss of a batch of ``horizon + 1`` steps inside one episode each.

        Consistency, reward, Q (and termination) losses weighted by ``rho^t``;
        the TD target uses the min of two random target Qs at the next latent.
        """
        c = self.config
        obs, task = _split_obs(batch.obs)
        obs = self._input(obs).transpose(0, 1)  # [T, B, *obs_shape], T = horizon + 1
        action = batch.action.transpose(0, 1)[:-1]
        reward = batch.reward.transpose(0, 1)[1:]  # reward[t] follows action[t]
        terminated = batch.is_terminal.transpose(0, 1)[1:].float()
        h = action.shape[0]
        if self.task_emb is None:
            task, discount = None, c.discount
        elif task is None:
            raise ValueError("A multi-task TD-MPC2 trains on batches whose obs is {'obs': x, 'task': index}.")
        else:  # one task per sequence, as the official buffer samples
            task = task[:, 0] if task.dim() > 1 else task
            discount = self.discounts[task]
        with torch.no_grad():
            next_z = self.encoder(self.with_task(obs[1:], task))
            next_action = self.policy_sample(next_z, task)[0]
            td = reward + discount * (1 - terminated) * self.q(next_z, next_action, "min", target=True, task=task)
        rho = c.rho ** torch.arange(h, device=reward.device, dtype=reward.dtype)
        z = self.encoder(self.with_task(obs[0], task))
        zs = [z]
        for t in range(h):
            z = self.next(z, action[t], task)
            zs.append(z)
        zs_t = torch.stack(zs)  # [H+1, B, L]
        consistency = ((zs_t[1:] - next_z).pow(2).mean((1, 2)) * rho).sum() / h
        reward_loss = soft_ce(self.reward_logits(zs_t[:-1], action, task), reward, c.vmin, c.vmax)
        reward_loss = (reward_loss.mean(1) * rho).sum() / h
        q_logits = self.q(zs_t[:-1], action, "all", task=task)  # [n, H, B, bins]
        value_loss = (soft_ce(q_logits, td.expand_as(q_logits[..., 0]), c.vmin, c.vmax).mean(2) * rho).sum()
        value_loss = value_loss / (h * c.num_q_networks)
        total = c.consistency_coef * consistency + c.reward_coef * reward_loss + c.value_coef * value_loss
        metrics = {"consistency": consistency, "reward": reward_loss, "value": value_loss}
        if self.termination is not None:
            term_loss = F.binary_cross_entropy_with_logits(self.termination_logits(zs_t[1:], task).squeeze(-1),
                                                           terminated)
            total = total + c.termination_coef * term_loss
            metrics["termination"] = term_loss
        metrics = {k: v.detach() for k, v in metrics.items()}
        zs_bt = zs_t.transpose(0, 1)
        return LossOutput(total, metrics, self._state(zs_bt, None if task is None else task[:, None].expand(
            zs_bt.shape[:2])))

    def policy_loss(self, zs: torch.Tensor, task: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The policy-prior loss on detached latents ``[T, B, L]``: -(scaled Q + entropy), rho-weighted."""
        c = self.config
        action, _, entropy, scaled_entropy = self.policy_sample(zs, task)
        qs = self.q(zs, action, "avg", detach=True, task=task)
        self.scale.update(qs[0])
        rho = c.rho ** torch.arange(zs.shape[0], device=zs.device, dtype=zs.dtype)
        loss = (-(c.entropy_coef * scaled_entropy + self.scale(qs)).mean(1) * rho).mean()
        return loss, {"pi_loss": loss.detach(), "pi_entropy": entropy.mean().detach(), "pi_scale": self.scale.value}

    @torch.no_grad()
    def soft_update_targets(self) -> None:
        """Polyak-average the target Qs towards the Qs (rate ``tau``)."""
        torch._foreach_lerp_(list(self.target_qs.parameters()), list(self.qs.parameters()), self.config.tau)


def _split_obs(obs: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(observations, task indices or None)`` from a tensor or a ``{"obs", "task"}`` mapping."""
    if isinstance(obs, Mapping):
        return obs["obs"], obs.get("task")
    return obs, None


def _check_tasks(c: TDMPC2Config) -> None:
    """Multi-task fields must agree with each other (errors name the fields to fix)."""
    n = len(c.tasks)
    for name in ("action_dims", "episode_lengths"):
        value = getattr(c, name)
        if value is not None and len(value) != n:
            raise ValueError(f"{name} has {len(value)} entries for {n} tasks; give one per task in `tasks`.")
    if c.multitask and max(c.task_action_dims) > c.action_dim:
        raise ValueError(f"action_dims {c.action_dims} exceed action_dim {c.action_dim}; action_dim is the "
                         f"padded size, the largest of them.")
