"""DreamerV3's training object: it acts on the posterior state, owns the optimiser and makes each update."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from worldflux.types import Batch, LatentState
from worldflux_dreamer.model import DreamerV3
from worldflux_dreamer.optim import LaProp

if TYPE_CHECKING:
    from worldflux.types import Observation


class DreamerAgent:
    """Keeps each environment's latent state and previous action between steps.

    The official agent acts with its policy from the first step (no random
    seeding) and trains ``train_ratio`` replayed steps per env step once the
    replay holds ``batch_size * batch_length`` windows. Each step's
    posterior (``deter``, ``stoch``) is stored in the replay, and a replayed
    window starts from the one stored at the step before it (``replay_context: 1``).
    """

    within_episode = False
    seed_steps = 0
    pretrain_ratio = 0.0

    def __init__(self, model: DreamerV3, num_envs: int) -> None:
        c = model.config
        self.model = model
        self.window, self.batch_size, self.train_ratio = c.batch_length, c.batch_size, c.train_ratio
        self.min_windows = c.batch_size * c.batch_length  # the official agent's first update waits for these
        self.replay_context = {"deter": (c.deter_dim,), "stoch": (c.stoch_discrete, c.stoch_classes)}
        params = [p for p in model.parameters() if p.requires_grad]  # all but the slow critic
        self.optimizer = LaProp(params, lr=c.lr, agc=c.agc, eps=c.eps, beta1=c.beta1, beta2=c.beta2,
                                warmup=c.warmup)
        self.state = model.initial_state(num_envs)
        self.prev_action = self.state["deter"].new_zeros(num_envs, c.action_dim)

    @torch.no_grad()
    def act(self, obs: Observation, is_first: torch.Tensor, explore: bool) -> torch.Tensor:
        m = self.model
        m.eval()
        self.state = m.observe_step(self.state, self.prev_action, obs, is_first)
        feat = m.features(self.state)
        if explore:
            action = m.actor.sample(feat)
        elif m.config.discrete_actions:
            logits = m.actor(feat).logits
            action = torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).float()
        else:
            action = m.actor(feat).mean
        self.prev_action = action
        return action.clamp(-1, 1)

    def replay_entries(self) -> dict[str, torch.Tensor]:
        return {"deter": self.state["deter"], "stoch": self.state["stoch"]}

    def update(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One official training step on ``batch``: the whole loss, one LaProp step, the slow critic."""
        m = self.model
        m.train()
        out = m.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        self.optimizer.step()
        m.update_slow_critic()
        return {**out.metrics, "loss": out.loss.detach()}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "latent": dict(self.state.tensors),
                "prev_action": self.prev_action}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.state = LatentState(dict(state["latent"]))
        self.prev_action = state["prev_action"]

    def compile(self) -> None:
        """Compile the RSSM's per-step pieces, which the update's scans and acting run (see ``compile_steps``)."""
        self.model.rssm.compile_steps()
