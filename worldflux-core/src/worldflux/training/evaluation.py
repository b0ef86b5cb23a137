"""Evaluation: whole episodes without exploration, all run side by side; optionally the first one as a video."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from worldflux.training.agent import make_agent
from worldflux.training.envs import EnvPool, frame_stack
from worldflux.training.precision import autocast
from worldflux.training.video import gif_path, write_gif
from worldflux.types import map_obs


def evaluate(model: Any, env_id: str, episodes: int, seed: int, *, image_size: int | None = None,
             precision: str = "fp32", video: str | Path | None = None) -> dict[str, Any]:
    """Mean and std of the return and mean length of ``episodes`` episodes, one per environment copy.

    With ``video`` (a ``.gif`` path), the first episode's rendered frames are written there too.
    """
    video = gif_path(video) if video is not None else None
    pool = EnvPool(env_id, episodes, seed, image_size, render=video is not None,
                   frames=frame_stack(model.config))
    pool.spec.check_fits(model.config, getattr(model, "preset_name", None) or type(model).__name__)
    agent = make_agent(model, episodes)
    device = next(model.parameters()).device
    returns, lengths = np.zeros(episodes), np.zeros(episodes)
    active = np.ones(episodes, bool)
    out = pool.step(np.zeros((episodes, pool.spec.action_dim), np.float32))  # every env starts an episode
    frames = [pool.envs[0].render()] if video is not None else []
    while active.any():
        with autocast(device.type, precision):
            action = agent.act(map_obs(out.obs, lambda o: torch.as_tensor(o, device=device)),
                               torch.as_tensor(out.is_first, device=device), explore=False)
        out = pool.step(action.float().cpu().numpy())
        returns += out.reward * active
        lengths += active
        if video is not None and active[0]:
            frames.append(pool.envs[0].render())
        active &= ~out.is_last
    fps = pool.envs[0].metadata.get("render_fps") or 30
    pool.close()
    result = {"eval_return": float(returns.mean()), "eval_return_std": float(returns.std()),
              "eval_length": float(lengths.mean())}
    if video is not None:
        result["video"] = str(write_gif(frames, video, fps))
    return result
