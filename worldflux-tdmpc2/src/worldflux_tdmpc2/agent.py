"""TD-MPC2's training object: MPPI acting, the two optimisers, one update per env step after random seeding."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch

from worldflux.threads import one_thread
from worldflux.types import Batch
from worldflux_tdmpc2.model import TDMPC2
from worldflux_tdmpc2.planner import Planner

# The most multiply-adds per hidden layer (rows x hidden_dim^2) at which work runs faster on one thread than on
# sleeping ones, measured on 2 cores (docs/performance.md, "TD-MPC2: small models on one thread"). An update's
# backward pass adds weight-gradient products, which gain from a second thread sooner than planning does.
PLAN_ONE_THREAD = 2**26
UPDATE_ONE_THREAD = 2**24


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
        rest = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith(("encoder.", "pi."))]
        # fused: one kernel per tensor instead of a dozen (a 5M model's step: 16 -> 4 ms on 2 CPU threads)
        self.model_optimizer = torch.optim.Adam([{"params": model.encoder.parameters(), "lr": c.lr * c.enc_lr_scale},
                                                 {"params": rest}], lr=c.lr, fused=True)
        self.pi_optimizer = torch.optim.Adam(model.pi.parameters(), lr=c.lr, eps=1e-5, fused=True)
        self.planner = Planner(model, num_envs)
        self.cuda_graphs = False  # set by compile() on a GPU
        cpu = next(model.parameters()).device.type == "cpu"
        # pixel updates keep their threads: the convolutions gain from them
        self._plan_threads = _threads(cpu and num_envs * c.num_samples * c.hidden_dim**2 <= PLAN_ONE_THREAD)
        self._update_threads = _threads(cpu and not c.pixels and c.batch_size * c.hidden_dim**2 <= UPDATE_ONE_THREAD)

    def act(self, obs: torch.Tensor, is_first: torch.Tensor, explore: bool) -> torch.Tensor:
        with self._plan_threads():
            return self.planner.act(obs.float(), is_first, explore)

    def replay_entries(self) -> dict[str, torch.Tensor]:
        return {}

    def update(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One official update: model step, then policy step on the detached rollout, then target Polyak."""
        with self._update_threads():
            return self._update(batch)

    def _update(self, batch: Batch) -> dict[str, torch.Tensor]:
        m, c = self.model, self.model.config
        if self.cuda_graphs:  # a new step: the graphs may now reuse the memory of the last step's outputs
            torch.compiler.cudagraph_mark_step_begin()
        m.train()
        out = m.loss(batch)
        out.loss.backward()
        model_params = [p for n, p in m.named_parameters() if p.requires_grad and not n.startswith("pi.")]
        grad_norm = torch.nn.utils.clip_grad_norm_(model_params, c.grad_clip_norm)
        self.model_optimizer.step()
        self.model_optimizer.zero_grad(set_to_none=True)
        task = out.states.tensors.get("task")
        pi_loss, pi_metrics = m.policy_loss(out.states["z"].transpose(0, 1).detach(),
                                            None if task is None else task[:, 0])
        pi_loss.backward()
        torch.nn.utils.clip_grad_norm_(m.pi.parameters(), c.grad_clip_norm)
        self.pi_optimizer.step()
        self.pi_optimizer.zero_grad(set_to_none=True)
        m.soft_update_targets()
        m.eval()
        metrics = {**out.metrics, **pi_metrics, "total_loss": out.loss.detach(), "grad_norm": grad_norm.detach()}
        # graph outputs are overwritten by the next replay; the caller keeps copies
        return {k: v.clone() for k, v in metrics.items()} if self.cuda_graphs else metrics

    def state_dict(self) -> dict[str, Any]:
        return {"model_optimizer": self.model_optimizer.state_dict(),
                "pi_optimizer": self.pi_optimizer.state_dict(), "plan_mean": self.planner.prev_mean}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model_optimizer.load_state_dict(state["model_optimizer"])
        self.pi_optimizer.load_state_dict(state["pi_optimizer"])
        self.planner.prev_mean = state["plan_mean"]

    def compile(self) -> None:
        """torch.compile the loss and the planner's value estimate; on a GPU with CUDA graphs, as officially."""
        self.cuda_graphs = next(self.model.parameters()).is_cuda
        mode = "reduce-overhead" if self.cuda_graphs else None
        self.model.loss = torch.compile(self.model.loss, mode=mode)  # type: ignore[method-assign]
        self.planner.estimate_value = torch.compile(  # type: ignore[method-assign]
            self.planner.estimate_value, mode=mode)


def _threads(small: bool) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """:func:`worldflux.threads.one_thread` for work too small to gain from sleeping threads, else no change."""
    return one_thread if small else contextlib.nullcontext
