"""Tiny agents and short runs shared by the training tests and their subprocess scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from worldflux.training import TrainingConfig, create_for_env

TINY = {
    "tdmpc2:ci": {"batch_size": 8, "num_samples": 16, "num_elites": 4, "num_pi_trajs": 2, "iterations": 1},
    "dreamer:ci": {"batch_size": 4, "batch_length": 8, "imag_horizon": 3},
}


def tiny_model(name: str, env: str, seed: int = 0, **overrides: Any) -> Any:
    """The ci preset of ``name`` shrunk further, built for ``env`` from a fixed seed."""
    torch.manual_seed(seed)
    return create_for_env(name, env, **{**TINY[name], **overrides})


def short_run(run_dir: Path, env: str = "Pendulum-v1", **changes: Any) -> TrainingConfig:
    """A run of a few hundred steps with frequent evaluation, logging and checkpoints."""
    values: dict[str, Any] = {"env": env, "steps": 240, "seed_steps": 40, "eval_every": 120, "eval_episodes": 1,
                              "log_every": 40, "checkpoint_every": 120, "run_dir": str(run_dir)}
    return TrainingConfig(**{**values, **changes})


def comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metrics records without wall-clock fields."""
    return [{k: v for k, v in r.items() if k not in ("wall_s", "env_steps_per_s", "updates_per_s")} for r in records]


class TinyPixels(gym.Env):
    """A 32x32 RGB env with 3 discrete actions whose episodes last 5 steps (the image path, without Atari)."""

    observation_space = gym.spaces.Box(0, 255, (32, 32, 3), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):  # type: ignore[no-untyped-def]
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.integers(0, 256, (32, 32, 3), dtype=np.uint8), {}

    def step(self, action):  # type: ignore[no-untyped-def]
        self.t += 1
        obs = np.full((32, 32, 3), 40 * int(action), np.uint8)
        return obs, float(action == 1), False, self.t >= 5, {}


if "WorldfluxTinyPixels-v0" not in gym.registry:
    gym.register("WorldfluxTinyPixels-v0", entry_point=TinyPixels, max_episode_steps=5)
