"""DreamerV3: world model, actor and critic in one module, trained by one loss as the official agent."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from worldflux.model import WorldModelBase
from worldflux.types import Batch, LatentState, LossOutput, Prediction
from worldflux_dreamer.codec import Decoder, Encoder
from worldflux_dreamer.config import DreamerV3Config
from worldflux_dreamer.functional import lambda_return
from worldflux_dreamer.heads import BinaryHead, PolicyHead, TwoHotHead
from worldflux_dreamer.normalize import PercentileNormalizer
from worldflux_dreamer.rssm import RSSM

if TYPE_CHECKING:
    from worldflux.types import Observation


class DreamerV3(WorldModelBase):
    """The DreamerV3 agent (Hafner et al., 2023/2025) following danijar/dreamerv3.

    State: ``deter [B, D]``, ``stoch [B, S, K]`` one-hot, ``logits [B, S, K]``.
    ``loss`` is the whole official objective: reconstruction, reward, continue
    and KL terms, the actor and critic on imagined trajectories started from
    every posterior state, and the critic on replayed returns.
    """

    family = "dreamerv3"

    def __init__(self, config: DreamerV3Config) -> None:
        super().__init__(config)
        c = config
        self.encoder = Encoder(c)
        self.rssm = RSSM(c, self.encoder.out_dim)
        self.decoder = Decoder(c)
        feat = c.feat_size
        self.reward_head = TwoHotHead(feat, c.units, c.reward_layers, c.act, c.bins)
        self.cont_head = BinaryHead(feat, c.units, c.cont_layers, c.act)
        self.actor = PolicyHead(feat, c.units, c.policy_layers, c.act, c.action_dim, c.discrete_actions,
                                c.policy_min_std, c.policy_max_std, c.policy_outscale)
        self.critic = TwoHotHead(feat, c.units, c.value_layers, c.act, c.bins)
        self.slow_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.retnorm = PercentileNormalizer(c.retnorm_rate, c.retnorm_limit, c.retnorm_low, c.retnorm_high)

    # --- protocol ---------------------------------------------------------------

    @staticmethod
    def features(state: LatentState | dict[str, torch.Tensor]) -> torch.Tensor:
        """What the heads read: ``deter`` and the flattened ``stoch`` (of a state or the RSSM's dict)."""
        return torch.cat([state["deter"], state["stoch"].flatten(-2)], -1)

    def initial_state(self, batch_size: int) -> LatentState:
        return LatentState(self.rssm.initial(batch_size))

    def encode(self, obs: Observation) -> LatentState:
        embed = self.encoder(obs)
        start = self.rssm.initial(embed.shape[0])
        no_action = start["deter"].new_zeros(embed.shape[0], self.config.action_dim)
        deter = self.rssm.core(start["deter"], start["stoch"], no_action)  # an episode's first step
        return LatentState(self.rssm.obs_step(deter, embed))

    def prior(self, state: LatentState, action: torch.Tensor) -> LatentState:
        return LatentState(self.rssm.img_step(dict(state.tensors), action))

    def posterior(self, state: LatentState, obs: Observation) -> LatentState:
        return LatentState(self.rssm.obs_step(state["deter"], self.encoder(obs)))

    def predict(self, state: LatentState, action: torch.Tensor) -> Prediction:
        nxt = self.prior(state, action)
        feat = self.features(nxt)
        reward = self.reward_head.mean(self.reward_head(feat))
        return Prediction(nxt, reward, torch.sigmoid(self.cont_head(feat)))

    def value(self, state: LatentState) -> torch.Tensor:
        return self.critic.mean(self.critic(self.features(state)))

    def observe_step(self, state: LatentState, prev_action: torch.Tensor, obs: Observation,
                     is_first: torch.Tensor) -> LatentState:
        """The posterior after acting ``prev_action`` and seeing ``obs``; resets where ``is_first``."""
        keep = (~is_first).float()[:, None]
        deter = self.rssm.core(state["deter"] * keep, state["stoch"] * keep[..., None], prev_action * keep)
        return LatentState(self.rssm.obs_step(deter, self.encoder(obs)))

    def policy(self, state: LatentState) -> torch.distributions.Distribution:
        """The actor's action distribution at ``state``."""
        return self.actor(self.features(state))

    # --- training ---------------------------------------------------------------

    @torch.no_grad()
    def update_slow_critic(self) -> None:
        """Move the slow critic towards the critic (every update, as configured officially)."""
        for slow, fast in zip(self.slow_critic.parameters(), self.critic.parameters()):
            slow.lerp_(fast, self.config.slow_rate)

    def loss(self, batch: Batch) -> LossOutput:
        c = self.config
        b, t = batch.shape
        start, first_action = self.window_start(batch)
        prev_action = torch.cat([first_action[:, None], batch.action[:, :-1]], 1)
        embed = self.encoder(batch.obs)
        post = self.rssm.observe(embed, prev_action.float(), batch.is_first, start)
        feat = self.features(post)
        losses: dict[str, torch.Tensor] = {}
        losses["dyn"], losses["rep"] = self.rssm.kl_losses(post["logits"], self.rssm.prior_logits(post["deter"]))
        rec = self.decoder.loss(self.decoder(post["deter"], post["stoch"]), batch.obs)
        parts = rec if isinstance(rec, dict) else {}  # a dict observation: a term per part, summed
        losses["rec"] = sum(parts.values()) if parts else rec
        losses["rew"] = self.reward_head.loss(self.reward_head(feat), batch.reward)
        cont_target = (~batch.is_terminal).float() * (1 - 1 / c.horizon)
        losses["con"] = F.binary_cross_entropy_with_logits(self.cont_head(feat), cont_target, reduction="none")
        ret, metrics = self._actor_critic_losses(post, losses)
        losses["repval"] = self._replay_value_loss(batch, feat, ret[:, 0].reshape(b, t))
        scales = {"dyn": c.loss_dyn, "rep": c.loss_rep, "rec": c.loss_rec, "rew": c.loss_rew, "con": c.loss_con,
                  "policy": c.loss_policy, "value": c.loss_value, "repval": c.loss_repval}
        means = {k: v.mean() for k, v in losses.items()}
        total = sum(means[k] * scales[k] for k in means)
        metrics.update({f"loss/{k}": v.detach() for k, v in means.items()})
        metrics.update({f"loss/rec/{k}": v.mean().detach() for k, v in parts.items()})
        return LossOutput(total, metrics, LatentState(post))

    def window_start(self, batch: Batch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The state and previous action a replayed window starts from.

        With a replay context (``batch.context``: ``deter``, ``stoch`` and ``action`` stored
        at the step before the window) that stored posterior, as the official
        ``replay_context: 1``; without one, the initial state and no action.
        """
        b = batch.shape[0]
        if batch.context is None:
            return self.rssm.initial(b), torch.zeros_like(batch.action[:, 0]).float()
        ctx = batch.context
        start = {"deter": ctx["deter"].float(), "stoch": ctx["stoch"].float()}
        return start, ctx["action"].float()

    def _actor_critic_losses(self, post: dict[str, torch.Tensor], losses: dict[str, torch.Tensor]
                             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Imagine ``imag_horizon`` steps from every posterior state; add the actor and critic losses.

        Returns the imagined lambda-returns ``[B*T, H]`` and metrics.
        """
        c = self.config
        with torch.no_grad():  # the official agent stops gradients through imagined states and actions
            state = {k: v.reshape(-1, *v.shape[2:]) for k, v in post.items()}
            feats, actions = [], []
            for _ in range(c.imag_horizon):
                feats.append(self.features(state))
                actions.append(self.actor.sample(feats[-1]))
                state = self.rssm.img_step(state, actions[-1])
            feats.append(self.features(state))
            actions.append(self.actor.sample(feats[-1]))
            feat, action = torch.stack(feats, 1), torch.stack(actions, 1)  # [N, H+1, ...]
            reward = self.reward_head.mean(self.reward_head(feat))
            cont = torch.sigmoid(self.cont_head(feat))
            slow = self.slow_critic.mean(self.slow_critic(feat))
        value_logits = self.critic(feat)
        value = self.critic.mean(value_logits).detach()
        weight = torch.cumprod(cont, 1)  # contdisc: the discount lives in the continue target
        ret = lambda_return(torch.zeros_like(cont), 1 - cont, reward, value, 1.0, c.return_lambda)
        if self.training:
            self.retnorm.update(ret)
        adv = (ret - value[:, :-1]) / self.retnorm.scale()
        policy = self.actor(feat)
        logp = policy.log_prob(action)[:, :-1]
        entropy = policy.entropy()[:, :-1]
        losses["policy"] = (weight[:, :-1] * -(logp * adv + c.actor_entropy * entropy)).mean(1)
        losses["value"] = (weight[:, :-1] * (
            self.critic.loss(value_logits[:, :-1], ret) + c.slow_reg * self.critic.loss(value_logits[:, :-1], slow[:, :-1])
        )).mean(1)
        metrics = {"ret": ret.mean(), "adv_mag": adv.abs().mean(), "entropy": entropy.mean(),
                   "retnorm_scale": self.retnorm.scale()}
        return ret, {k: v.detach() for k, v in metrics.items()}

    def _replay_value_loss(self, batch: Batch, feat: torch.Tensor, boot: torch.Tensor) -> torch.Tensor:
        """The critic on lambda-returns of the replayed rewards, bootstrapped from imagination."""
        c = self.config
        is_last = batch.is_terminal.clone()
        is_last[:, :-1] |= batch.is_first[:, 1:]
        ret = lambda_return(is_last, batch.is_terminal, batch.reward.float(), boot, 1 - 1 / c.horizon,
                            c.return_lambda)
        logits = self.critic(feat)[:, :-1]
        with torch.no_grad():
            slow = self.slow_critic.mean(self.slow_critic(feat[:, :-1]))
        loss = self.critic.loss(logits, ret) + c.slow_reg * self.critic.loss(logits, slow)
        return (~is_last[:, :-1]).float() * loss
