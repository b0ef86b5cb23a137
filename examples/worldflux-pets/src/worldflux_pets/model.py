"""The PETS world model: a probabilistic ensemble over the next-observation delta and the reward.

The latent state is the observation itself (PETS has no encoder) plus the
index of the ensemble member that propagates it: ``LatentState({"obs": [B, D],
"member": [B]})``. Keeping the member in the state makes :meth:`prior` the
paper's TS-inf trajectory sampling: a particle keeps its bootstrap member for
the whole rollout, so rollouts separate epistemic (which member) from
aleatoric (the sampled Gaussian) uncertainty.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from worldflux.model import WorldModelBase
from worldflux.types import Batch, LatentState, LossOutput, Prediction
from worldflux_pets.config import PETSConfig
from worldflux_pets.ensemble import GaussianEnsemble, gaussian_nll
from worldflux_pets.normalizer import Normalizer


class PETS(WorldModelBase):
    """Each member maps ``(obs, action)`` to a Gaussian over ``(obs' - obs, reward)``.

    Rewards are learned (one more output of every member), not given as a
    function, so the model plans in any environment it has seen. Continuation
    is always 1: this family models tasks without terminations (Pendulum,
    locomotion with time limits); transitions out of a terminal state are not
    trained on. :meth:`value` is 0: PETS has no value function, its planner
    sums the predicted rewards over a finite horizon.
    """

    family = "pets"

    def __init__(self, config: PETSConfig) -> None:
        super().__init__(config)
        d, a, c = config.obs_shape[0], config.action_dim, config
        self.obs_dim = d
        self.ensemble = GaussianEnsemble(c.ensemble_size, d + a, d + 1, c.hidden_dim, c.num_layers,
                                         c.min_logvar, c.max_logvar)
        self.input_norm = Normalizer(d + a)
        self.target_norm = Normalizer(d + 1)  # (delta obs, reward)

    # --- states -----------------------------------------------------------------------

    def _member_of_rows(self, lead: tuple[int, ...], device: torch.device) -> torch.Tensor:
        """The default TS-inf assignment: row ``i`` is carried by member ``i mod M``."""
        n = 1
        for size in lead:
            n *= size
        return (torch.arange(n, device=device) % self.config.ensemble_size).reshape(lead)

    def _obs(self, obs: torch.Tensor) -> torch.Tensor:
        if isinstance(obs, Mapping):
            raise TypeError("PETS models a single (D,) observation vector, not a dict of observations")
        if obs.shape[-1:] != (self.obs_dim,):
            raise ValueError(f"PETS expects observations [..., {self.obs_dim}]; got {tuple(obs.shape)}")
        return obs.float()

    def initial_state(self, batch_size: int) -> LatentState:
        device = self.input_norm.mean.device
        return LatentState({"obs": torch.zeros(batch_size, self.obs_dim, device=device),
                            "member": self._member_of_rows((batch_size,), device)})

    def encode(self, obs: torch.Tensor) -> LatentState:
        obs = self._obs(obs)
        return LatentState({"obs": obs, "member": self._member_of_rows(tuple(obs.shape[:-1]), obs.device)})

    def posterior(self, state: LatentState, obs: torch.Tensor) -> LatentState:
        """The observation replaces the prediction; the particle keeps its member."""
        return LatentState({"obs": self._obs(obs), "member": state["member"]})

    # --- one step ---------------------------------------------------------------------

    def step_members(self, obs: torch.Tensor, action: torch.Tensor, sample: bool = True
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Member-major step: ``obs [M, N, D]``, ``action [M, N, A]`` -> next obs ``[M, N, D]``, reward ``[M, N]``.

        Row block ``m`` is propagated by member ``m``; the next observation is
        sampled from its Gaussian (``sample=False``: its mean), the reward is its mean.
        """
        x = self.input_norm.normalize(torch.cat([obs, action.to(obs.dtype)], -1))
        mean, logvar = self.ensemble(x)
        out = self.target_norm.denormalize(mean)
        delta, reward = out[..., :-1], out[..., -1]
        if sample:
            std = self.target_norm.scale(torch.exp(0.5 * logvar))[..., :-1]
            delta = delta + std * torch.randn_like(delta)
        return obs + delta, reward

    def predict(self, state: LatentState, action: torch.Tensor) -> Prediction:
        """Each row steps with its own member (TS-inf); continuation is 1 (no terminations).

        Every member runs on every row and each row keeps its own member's
        output: simple for any assignment, ``M`` times the work, so the planner
        calls :meth:`step_members` with member-major rows instead.
        """
        obs, member = state["obs"], state["member"].long()
        m, b = self.config.ensemble_size, obs.shape[0]
        nxt, reward = self.step_members(obs.expand(m, *obs.shape), action.expand(m, *action.shape))
        rows = torch.arange(b, device=obs.device)
        next_state = LatentState({"obs": nxt[member, rows], "member": state["member"]})
        return Prediction(next_state, reward[member, rows], torch.ones(b, device=obs.device))

    def prior(self, state: LatentState, action: torch.Tensor) -> LatentState:
        return self.predict(state, action).state

    def value(self, state: LatentState) -> torch.Tensor:
        """Always 0: PETS learns no value function; planning uses the horizon's rewards alone."""
        return torch.zeros(state["obs"].shape[0], device=state["obs"].device)

    # --- training ---------------------------------------------------------------------

    def transitions(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flat ``(inputs [N, D+A], targets [N, D+1], valid [N])`` of every consecutive pair in ``batch``.

        Pair ``t`` is ``(obs[t], action[t]) -> (obs[t+1] - obs[t], reward[t+1])``;
        it is invalid where ``t + 1`` starts a new episode or ``t`` was terminal.
        """
        obs = self._obs(batch.obs)
        action = batch.action.to(obs.dtype)
        inputs = torch.cat([obs[:, :-1], action[:, :-1]], -1)
        targets = torch.cat([obs[:, 1:] - obs[:, :-1], batch.reward[:, 1:, None].to(obs.dtype)], -1)
        valid = ~batch.is_first[:, 1:] & ~batch.is_terminal[:, :-1]
        return inputs.reshape(-1, inputs.shape[-1]), targets.reshape(-1, targets.shape[-1]), valid.reshape(-1)

    @torch.no_grad()
    def observe(self, batch: Batch) -> None:
        """Fold ``batch``'s valid transitions into the input and target normalisers (the agent calls it)."""
        inputs, targets, valid = self.transitions(batch)
        self.input_norm.update(inputs[valid])
        self.target_norm.update(targets[valid])

    def _member_batches(self, n: int, device: torch.device) -> torch.Tensor:
        """``[M, k]`` row indices: disjoint random subsets of the ``n`` rows, one per member.

        The replay samples with replacement, so each member trains on its own
        i.i.d. draw: the minibatch form of the paper's bootstrap. With fewer
        rows than members, every member gets them all.
        """
        m = self.config.ensemble_size
        if n < m:
            return torch.arange(n, device=device).expand(m, n)
        k = n // m
        return torch.randperm(n, device=device)[: m * k].view(m, k)

    def loss(self, batch: Batch) -> LossOutput:
        """Gaussian (beta-)NLL of each member on its own rows (normalised units), summed, plus the bound penalty."""
        inputs, targets, valid = self.transitions(batch)
        idx = self._member_batches(inputs.shape[0], inputs.device)
        x = self.input_norm.normalize(inputs)[idx]
        y = self.target_norm.normalize(targets)[idx]
        w = valid[idx].to(x.dtype)
        mean, logvar = self.ensemble(x)
        denom = w.sum(1).clamp(min=1.0)

        def per_member(value: torch.Tensor) -> torch.Tensor:
            return (w * value).sum(1) / denom

        nll = per_member(gaussian_nll(mean, logvar, y, self.config.nll_beta))
        bounds = self.ensemble.bound_penalty()
        loss = nll.sum() + self.config.logvar_bound_coef * bounds
        err = (mean - y).pow(2).detach()
        metrics = {"nll": nll.mean().detach(), "delta_mse": per_member(err[..., :-1].mean(-1)).mean(),
                   "reward_mse": per_member(err[..., -1]).mean(), "logvar_bounds": bounds.detach(),
                   "valid": (w.sum() / max(w.numel(), 1)).detach()}
        return LossOutput(loss, metrics, self.encode(batch.obs).detach())
