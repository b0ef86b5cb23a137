"""TD-MPC2: a decoder-free latent model with a Q ensemble and a policy prior, as nicklashansen/tdmpc2."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from worldflux.model import WorldModelBase
from worldflux.types import Batch, LatentState, LossOutput, Prediction
from worldflux_tdmpc2.config import TDMPC2Config
from worldflux_tdmpc2.functional import make_bins, soft_ce, squashed_gaussian, two_hot_inv
from worldflux_tdmpc2.layers import EnsembleMLP, SimNorm, init_weights, mlp
from worldflux_tdmpc2.scale import RunningScale

if TYPE_CHECKING:
    from worldflux_tdmpc2.agent import TDMPC2Agent


class TDMPC2(WorldModelBase):
    """The TD-MPC2 agent's networks and losses (single task, state observations).

    State: ``z [B, latent_dim]``. The reward of ``(z, a)`` belongs to that
    transition; ``value(state)`` is ``Q(z, pi(z))``, the average of two random
    members of the ensemble. ``update`` performs one official training step.
    """

    family = "tdmpc2"

    def __init__(self, config: TDMPC2Config) -> None:
        super().__init__(config)
        c = config
        if len(c.obs_shape) != 1:
            raise ValueError(f"TD-MPC2 here takes state vectors (D,); got obs_shape {c.obs_shape}. "
                             f"Flatten the observation, or use a DreamerV3 preset for images.")
        if c.latent_dim % c.simnorm_dim:
            raise ValueError(f"latent_dim {c.latent_dim} must be a multiple of simnorm_dim {c.simnorm_dim}")
        if c.num_q_networks < 2:
            raise ValueError("num_q_networks must be >= 2: targets take the min of two random Qs")
        za, h = c.latent_dim + c.action_dim, c.hidden_dim
        self.encoder = mlp(c.obs_shape[0], max(c.num_enc_layers - 1, 1) * [c.enc_dim], c.latent_dim,
                           SimNorm(c.simnorm_dim))
        self.dynamics = mlp(za, [h, h], c.latent_dim, SimNorm(c.simnorm_dim))
        self.reward = mlp(za, [h, h], c.num_bins)
        self.termination = mlp(c.latent_dim, [h, h], 1) if c.episodic else None
        self.pi = mlp(c.latent_dim, [h, h], 2 * c.action_dim)
        self.apply(init_weights)
        torch.nn.init.zeros_(self.reward[-1].weight)
        self.qs = EnsembleMLP(c.num_q_networks, za, h, c.num_bins, c.dropout)
        self.target_qs = copy.deepcopy(self.qs).requires_grad_(False).eval()
        self.scale = RunningScale(c.tau)
        self.register_buffer("bins", make_bins(c.num_bins, c.vmin, c.vmax), persistent=False)

    def train(self, mode: bool = True) -> TDMPC2:
        super().train(mode)
        self.target_qs.eval()  # target Qs never use dropout
        return self

    # --- networks -----------------------------------------------------------------

    def next(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.dynamics(torch.cat([z, a], -1))

    def reward_logits(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.reward(torch.cat([z, a], -1))

    def policy(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """A policy-prior sample: (action, tanh(mean), entropy, scaled entropy)."""
        c = self.config
        mean, log_std = self.pi(z).chunk(2, -1)
        return squashed_gaussian(mean, log_std, c.log_std_min, c.log_std_max)

    def q(self, z: torch.Tensor, a: torch.Tensor, kind: str = "avg", target: bool = False,
          detach: bool = False) -> torch.Tensor:
        """Q values: ``"all"`` logits ``[n, ..., bins]``, or ``"min"``/``"avg"`` of two random members."""
        x = torch.cat([z, a], -1)
        if target:
            out = self.target_qs(x)
        else:
            out = self.qs(x, [p.detach() for p in self.qs.flat_params()] if detach else None)
        if kind == "all":
            return out
        if self.config.num_q_networks > 2:  # two random members (with exactly two, both: order is irrelevant)
            out = out[torch.randperm(self.config.num_q_networks, device=out.device)[:2]]
        values = two_hot_inv(out, self.bins)
        return values.min(0).values if kind == "min" else values.mean(0)

    # --- protocol ---------------------------------------------------------------

    def initial_state(self, batch_size: int) -> LatentState:
        return LatentState({"z": self.qs.weights[0].new_zeros(batch_size, self.config.latent_dim)})

    def encode(self, obs: torch.Tensor) -> LatentState:
        return LatentState({"z": self.encoder(obs.float())})

    def prior(self, state: LatentState, action: torch.Tensor) -> LatentState:
        return LatentState({"z": self.next(state["z"], action)})

    def posterior(self, state: LatentState, obs: torch.Tensor) -> LatentState:
        return self.encode(obs)  # the latent is a function of the observation alone

    def predict(self, state: LatentState, action: torch.Tensor) -> Prediction:
        z = state["z"]
        nxt = self.next(z, action)
        reward = two_hot_inv(self.reward_logits(z, action), self.bins)
        if self.termination is None:
            cont = torch.ones_like(reward)
        else:
            cont = 1 - torch.sigmoid(self.termination(nxt)).squeeze(-1)
        return Prediction(LatentState({"z": nxt}), reward, cont)

    def value(self, state: LatentState) -> torch.Tensor:
        z = state["z"]
        return self.q(z, self.policy(z)[0], "avg")

    # --- training ---------------------------------------------------------------

    def loss(self, batch: Batch) -> LossOutput:
        """The world-model loss of a batch of ``horizon + 1`` steps inside one episode each.

        Consistency, reward, Q (and termination) losses weighted by ``rho^t``;
        the TD target uses the min of two random target Qs at the next latent.
        """
        c = self.config
        obs = batch.obs.float().transpose(0, 1)  # [T, B, D], T = horizon + 1
        action = batch.action.transpose(0, 1)[:-1]
        reward = batch.reward.transpose(0, 1)[1:]  # reward[t] follows action[t]
        terminated = batch.is_terminal.transpose(0, 1)[1:].float()
        h = action.shape[0]
        with torch.no_grad():
            next_z = self.encoder(obs[1:])
            next_action = self.policy(next_z)[0]
            td = reward + c.discount * (1 - terminated) * self.q(next_z, next_action, "min", target=True)
        rho = c.rho ** torch.arange(h, device=obs.device, dtype=obs.dtype)
        z = self.encoder(obs[0])
        zs = [z]
        for t in range(h):
            z = self.next(z, action[t])
            zs.append(z)
        zs_t = torch.stack(zs)  # [H+1, B, L]
        consistency = ((zs_t[1:] - next_z).pow(2).mean((1, 2)) * rho).sum() / h
        reward_loss = (soft_ce(self.reward_logits(zs_t[:-1], action), reward, c.vmin, c.vmax).mean(1) * rho).sum() / h
        q_logits = self.q(zs_t[:-1], action, "all")  # [n, H, B, bins]
        value_loss = (soft_ce(q_logits, td.expand_as(q_logits[..., 0]), c.vmin, c.vmax).mean(2) * rho).sum()
        value_loss = value_loss / (h * c.num_q_networks)
        total = c.consistency_coef * consistency + c.reward_coef * reward_loss + c.value_coef * value_loss
        metrics = {"consistency": consistency, "reward": reward_loss, "value": value_loss}
        if self.termination is not None:
            term_loss = F.binary_cross_entropy_with_logits(self.termination(zs_t[1:]).squeeze(-1), terminated)
            total = total + c.termination_coef * term_loss
            metrics["termination"] = term_loss
        metrics = {k: v.detach() for k, v in metrics.items()}
        return LossOutput(total, metrics, LatentState({"z": zs_t.transpose(0, 1)}))

    def policy_loss(self, zs: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The policy-prior loss on detached latents ``[T, B, L]``: -(scaled Q + entropy), rho-weighted."""
        c = self.config
        action, _, entropy, scaled_entropy = self.policy(zs)
        qs = self.q(zs, action, "avg", detach=True)
        self.scale.update(qs[0])
        rho = c.rho ** torch.arange(zs.shape[0], device=zs.device, dtype=zs.dtype)
        loss = (-(c.entropy_coef * scaled_entropy + self.scale(qs)).mean(1) * rho).mean()
        return loss, {"pi_loss": loss.detach(), "pi_entropy": entropy.mean().detach(), "pi_scale": self.scale.value}

    def make_agent(self, num_envs: int) -> TDMPC2Agent:
        """The Trainer's agent for this model, acting in ``num_envs`` environments (see worldflux.training.agent)."""
        from worldflux_tdmpc2.agent import TDMPC2Agent

        return TDMPC2Agent(self, num_envs)

    def make_optimizer(self) -> tuple[torch.optim.Adam, torch.optim.Adam]:
        """The official pair: Adam for the model (encoder at ``enc_lr_scale``), Adam (eps 1e-5) for the policy."""
        c = self.config
        rest = [p for n, p in self.named_parameters() if p.requires_grad and not n.startswith(("encoder.", "pi."))]
        model_opt = torch.optim.Adam([{"params": self.encoder.parameters(), "lr": c.lr * c.enc_lr_scale},
                                      {"params": rest}], lr=c.lr)
        return model_opt, torch.optim.Adam(self.pi.parameters(), lr=c.lr, eps=1e-5)

    def update(self, batch: Batch, optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer]
               ) -> dict[str, torch.Tensor]:
        """One official update: model step, then policy step on the detached rollout, then target Polyak."""
        model_opt, pi_opt = optimizers
        self.train()
        out = self.loss(batch)
        out.loss.backward()
        model_params = [p for n, p in self.named_parameters() if p.requires_grad and not n.startswith("pi.")]
        grad_norm = torch.nn.utils.clip_grad_norm_(model_params, self.config.grad_clip_norm)
        model_opt.step()
        model_opt.zero_grad(set_to_none=True)
        pi_loss, pi_metrics = self.policy_loss(out.states["z"].transpose(0, 1).detach())
        pi_loss.backward()
        torch.nn.utils.clip_grad_norm_(self.pi.parameters(), self.config.grad_clip_norm)
        pi_opt.step()
        pi_opt.zero_grad(set_to_none=True)
        self.soft_update_targets()
        self.eval()
        return {**out.metrics, **pi_metrics, "total_loss": out.loss.detach(), "grad_norm": grad_norm.detach()}

    @torch.no_grad()
    def soft_update_targets(self) -> None:
        """Polyak-average the target Qs towards the Qs (rate ``tau``)."""
        torch._foreach_lerp_(list(self.target_qs.parameters()), list(self.qs.parameters()), self.config.tau)
