"""The recurrent state-space model: block-diagonal GRU, categorical latents with unimix."""

from __future__ import annotations

import torch
from torch import nn

from worldflux.threads import one_thread, one_thread_backward
from worldflux_dreamer.config import DreamerV3Config
from worldflux_dreamer.functional import categorical_kl, sample_onehot, unimix_logits
from worldflux_dreamer.layers import BlockLinear, Linear, NormAct, mlp


# The widest deterministic state whose scan runs on one thread. Measured with 2 sleeping threads on 2 cores
# (docs/performance.md): size1m (512) took 0.75-0.86x the time on one thread at batch 16, 0.91x at batch 64;
# size12m (2048) 1.04x at batch 16.
ONE_THREAD_MAX_DETER = 1024


class RSSM(nn.Module):
    """``deter`` follows a block GRU of (deter, stoch, action); ``stoch`` is 32-style categorical.

    The GRU input is three projections (of deter, stoch and action), each
    RMSNorm + SiLU, repeated for every block beside that block's slice of deter.
    """

    def __init__(self, c: DreamerV3Config, embed_dim: int) -> None:
        super().__init__()
        self.c = c
        g, h = c.gru_blocks, c.hidden
        self.dynin = nn.ModuleList([
            nn.Sequential(Linear(size, h), NormAct(h, c.act)) for size in (c.deter_dim, c.stoch_size, c.action_dim)
        ])
        layers: list[nn.Module] = []
        width = c.deter_dim + g * 3 * h
        for _ in range(c.dyn_layers):
            layers += [BlockLinear(width, c.deter_dim, g), NormAct(c.deter_dim, c.act)]
            width = c.deter_dim
        self.dynhid = nn.Sequential(*layers)
        self.gru = BlockLinear(width, 3 * c.deter_dim, g)
        self.prior_net = nn.Sequential(mlp(c.deter_dim, h, c.img_layers, c.act),
                                       Linear(h if c.img_layers else c.deter_dim, c.stoch_size))
        self.post_net = nn.Sequential(mlp(c.deter_dim + embed_dim, h, c.obs_layers, c.act),
                                      Linear(h if c.obs_layers else c.deter_dim + embed_dim, c.stoch_size))

    def initial(self, batch_size: int) -> dict[str, torch.Tensor]:
        c = self.c
        device = self.gru.weight.device
        return {
            "deter": torch.zeros(batch_size, c.deter_dim, device=device),
            "stoch": torch.zeros(batch_size, c.stoch_discrete, c.stoch_classes, device=device),
            "logits": torch.zeros(batch_size, c.stoch_discrete, c.stoch_classes, device=device),
        }

    def _group(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(*x.shape[:-1], self.c.gru_blocks, -1)

    def core(self, deter: torch.Tensor, stoch: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """One GRU step: the next deterministic state."""
        g = self.c.gru_blocks
        action = action / action.abs().clamp(min=1).detach()
        inputs = [net(x) for net, x in zip(self.dynin, (deter, stoch.flatten(-2), action))]
        x = torch.cat(inputs, -1).unsqueeze(-2).expand(*deter.shape[:-1], g, -1)
        x = torch.cat([self._group(deter), x], -1).flatten(-2)
        x = self.gru(self.dynhid(x))
        reset, cand, update = (gate.flatten(-2) for gate in self._group(x).chunk(3, -1))
        reset = torch.sigmoid(reset)
        cand = torch.tanh(reset * cand)
        update = torch.sigmoid(update - 1)
        return update * cand + (1 - update) * deter

    def _logits(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        logits = net(x).reshape(*x.shape[:-1], self.c.stoch_discrete, self.c.stoch_classes)
        return unimix_logits(logits, self.c.unimix)

    def _sample(self, logits: torch.Tensor) -> torch.Tensor:
        """A method, not a call of ``sample_onehot`` in each step, so that :meth:`compile_steps` can replace it."""
        return sample_onehot(logits)

    def prior_logits(self, deter: torch.Tensor) -> torch.Tensor:
        return self._logits(self.prior_net, deter)

    def compile_steps(self) -> None:
        """``torch.compile`` the three pieces every scan step runs: the GRU step, the latent logits, the sample.

        At batch 16 a train step is thousands of small eager operations; compiling these per-step pieces
        fuses their elementwise work (norms, activations, gates, unimix, Gumbel-max) without compiling the
        whole loss, which takes too long to warm up. ``fallback_random`` keeps torch's own random draws, so
        a compiled model samples what an eager one does; shapes are static (one compilation per batch size
        and grad mode, a few seconds each from inductor's cache).
        """
        for name in ("core", "_logits", "_sample"):
            setattr(self, name, torch.compile(getattr(self, name), dynamic=False,
                                              options={"fallback_random": True}))

    def img_step(self, state: dict[str, torch.Tensor], action: torch.Tensor) -> dict[str, torch.Tensor]:
        """Prior step: advance with ``action`` and sample the stochastic state from the prior."""
        deter = self.core(state["deter"], state["stoch"], action)
        logits = self.prior_logits(deter)
        return {"deter": deter, "stoch": self._sample(logits), "logits": logits}

    def obs_step(self, deter: torch.Tensor, embed: torch.Tensor) -> dict[str, torch.Tensor]:
        """Posterior at a step whose deterministic state is ``deter``, given the observation embedding."""
        logits = self._logits(self.post_net, torch.cat([deter, embed], -1))
        return {"deter": deter, "stoch": self._sample(logits), "logits": logits}

    def observe(self, embed: torch.Tensor, action: torch.Tensor, is_first: torch.Tensor,
                state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Posterior states ``[B, T, ...]`` of a sequence; ``action[:, t]`` is the action *before* step t.

        On a CPU, while waiting threads sleep (worldflux's default), a small model's scan runs on one thread,
        forward and backward: its steps are too small to gain from waking a second one
        (``worldflux.threads.one_thread``).
        """
        if embed.device.type != "cpu" or self.c.deter_dim > ONE_THREAD_MAX_DETER:
            return self._scan(embed, action, is_first, state)
        with one_thread():
            post = self._scan(embed, action, is_first, state)
        one_thread_backward(post.values(), embed)
        return post

    def _scan(self, embed: torch.Tensor, action: torch.Tensor, is_first: torch.Tensor,
              state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        keep_all: list[dict[str, torch.Tensor]] = []
        for t in range(embed.shape[1]):
            keep = (~is_first[:, t]).float()[:, None]
            deter = self.core(state["deter"] * keep, state["stoch"] * keep[..., None], action[:, t] * keep)
            state = self.obs_step(deter, embed[:, t])
            keep_all.append(state)
        return {k: torch.stack([s[k] for s in keep_all], 1) for k in keep_all[0]}

    def kl_losses(self, post_logits: torch.Tensor, prior_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dynamics and representation KL per step, each clipped below at ``free_nats``."""
        dyn = categorical_kl(post_logits.detach(), prior_logits)
        rep = categorical_kl(post_logits, prior_logits.detach())
        return dyn.clamp(min=self.c.free_nats), rep.clamp(min=self.c.free_nats)
