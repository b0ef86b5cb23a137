"""One greedy or exploring episode of a trained agent, step by step, for the diagnostics of this folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import torch


def play(agent: Any, env: gym.Env, seed: int, explore: bool,
         to_env: Callable[[torch.Tensor], Any]) -> Iterator[tuple[np.ndarray, float, bool]]:
    """Yields ``(obs, reward, terminated)`` after each step of the episode reset with ``seed``, until it ends.

    ``to_env`` turns the agent's action for the one environment (its first row) into what ``env.step`` takes.
    """
    obs, _ = env.reset(seed=seed)
    first, done = True, False
    while not done:
        action = agent.act(torch.as_tensor(obs[None], dtype=torch.float32), torch.tensor([first]), explore)
        obs, reward, terminated, truncated, _ = env.step(to_env(action[0]))
        first, done = False, terminated or truncated
        yield obs, float(reward), terminated
