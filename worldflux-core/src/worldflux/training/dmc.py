"""DeepMind Control suite tasks as gymnasium environments, for ``dmc:domain-task`` ids.

dm_control is an optional dependency (``pip install dm_control``), imported only
when such an environment is made. Observations are the task's observation dict
flattened into one float32 vector; actions are repeated ``action_repeat`` times
(the usual DMC setting for DreamerV3 and TD-MPC2).
"""

from __future__ import annotations

import difflib
import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np

from worldflux.errors import ConfigError

DOMAIN_ALIASES = {"cup": "ball_in_cup"}  # the short name DreamerV3 and TD-MPC2 use
STANDARD_STEPS = 1000  # control steps per episode across the suite; lqr, with no time limit, gets it too


def make_dmc_env(task: str, *, action_repeat: int = 2) -> gym.Env:
    """The dm_control task ``task`` ("domain-task", e.g. "walker-walk" or "cup-catch") as a gymnasium Env."""
    if action_repeat < 1:
        raise ConfigError(f"action_repeat must be at least 1, got {action_repeat}")
    try:
        with warnings.catch_warnings():
            # dm_control probes for an OpenGL backend on import; without a display glfw warns, but nothing
            # here renders, so the warning is noise on headless machines.
            warnings.filterwarnings("ignore", message=".*DISPLAY environment variable is missing")
            from dm_control import suite
    except ImportError as exc:
        raise ConfigError(f"dmc: ids need DeepMind Control, which is not installed ({exc}). "
                          f"Install it with: pip install dm_control") from exc
    domain, _, name = task.rpartition("-")
    domain = DOMAIN_ALIASES.get(domain, domain)
    if (domain, name) not in suite.ALL_TASKS:
        known = [f"{d}-{t}" for d, t in suite.ALL_TASKS]
        close = difflib.get_close_matches(f"{domain}-{name}", known, n=3, cutoff=0.6)
        hint = f"Did you mean {', '.join(close)}?" if close else f"Known tasks: {', '.join(known)}."
        raise ConfigError(f"unknown DeepMind Control task {task!r} (ids are dmc:domain-task). {hint}")
    env = suite.load(domain, name)
    if math.isinf(env._step_limit):  # lqr: give it a time limit, so episode_length is finite
        env = suite.load(domain, name, task_kwargs={"time_limit": STANDARD_STEPS * env.control_timestep()})
    return DMCEnv(env, action_repeat)


class DMCEnv(gym.Env[np.ndarray, np.ndarray]):
    """A dm_control ``Environment`` (with a time limit) behind the gymnasium API; see :func:`make_dmc_env`.

    ``reset(seed=s)`` reseeds the task's random state, so an episode depends only
    on ``s`` and the actions; ``reset()`` continues the task's random stream.
    An episode that dm_control ends with discount 0 is ``terminated``; one ended
    by the time limit is ``truncated``.
    """

    def __init__(self, env: Any, action_repeat: int) -> None:
        self._env = env
        self.action_repeat = action_repeat
        # dm_control ends an episode after ceil(time limit / control timestep) steps; it keeps that count private.
        self.episode_length = math.ceil(math.ceil(env._step_limit) / action_repeat)
        size = sum(math.prod(spec.shape) for spec in env.observation_spec().values())
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), np.float32)
        spec = env.action_spec()
        self.action_space = gym.spaces.Box(spec.minimum.astype(np.float32), spec.maximum.astype(np.float32),
                                           spec.shape, np.float32)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; with ``seed`` its initial state is reproducible."""
        super().reset(seed=seed)
        if seed is not None:
            self._env.task.random.seed(seed)
        return _flatten(self._env.reset().observation), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` for ``action_repeat`` control steps (fewer if the episode ends), summing rewards."""
        action = np.asarray(action, np.float64)
        reward = 0.0
        for _ in range(self.action_repeat):
            step = self._env.step(action)
            reward += step.reward
            if step.last():
                break
        terminated = step.last() and step.discount == 0
        return _flatten(step.observation), float(reward), terminated, step.last() and not terminated, {}


def _flatten(observation: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(v, np.float32).ravel() for v in observation.values()])
