"""Evaluation: whole episodes without exploration, all run side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from worldflux.training.agent import make_agent
from worldflux.training.envs import EnvPool


def evaluate(model: Any, env_id: str, episodes: int, seed: int, *, image_size: int = 64,
             precision: str = "fp32") -> dict[str, float]:
    """Mean and std of the return and mean length of ``episodes`` episodes, one per environment copy."""
    pool = EnvPool(env_id, episodes, seed, image_size)
    pool.spec.check_fits(model.config, getattr(model, "preset_name", None) or type(model).__name__)
    agent = make_agent(model, episodes)
    device = next(model.parameters()).device
    returns, lengths = np.zeros(episodes), np.zeros(episodes)
    active = np.ones(episodes, bool)
    out = pool.step(np.zeros((episodes, pool.spec.action_dim), np.float32))  # every env starts an episode
    while active.any():
        with torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
            action = agent.act(torch.as_tensor(out.obs, device=device),
                               torch.as_tensor(out.is_first, device=device), explore=False)
        out = pool.step(action.float().cpu().numpy())
        returns += out.reward * active
        lengths += active
        active &= ~out.is_last
    pool.close()
    return {"eval_return": float(returns.mean()), "eval_return_std": float(returns.std()),
            "eval_length": float(lengths.mean())}
