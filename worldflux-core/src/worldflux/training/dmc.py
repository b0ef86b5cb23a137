"""DeepMind Control suite tasks as gymnasium environments, for ``dmc:domain-task[:pixels]`` ids.

dm_control is an optional dependency (``pip install dm_control``), imported only
when such an environment is made. Observations are the task's observation dict
flattened into one float32 vector or, with ``:pixels``, a 64x64 RGB frame
rendered headless (EGL or OSMesa, as ``MUJOCO_GL`` picks); actions are repeated
``action_repeat`` times (the usual DMC setting for DreamerV3 and TD-MPC2).
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import subprocess
import sys
import warnings
from typing import Any

import gymnasium as gym
import numpy as np

from worldflux.errors import ConfigError

DOMAIN_ALIASES = {"cup": "ball_in_cup"}  # the short name DreamerV3 and TD-MPC2 use
STANDARD_STEPS = 1000  # control steps per episode across the suite; lqr, with no time limit, gets it too
PIXELS_SIZE = 64  # the official DreamerV3 and TD-MPC2 DMC image size
PIXELS_CAMERAS = {"quadruped": 2}  # the camera both official wrappers use for these domains; 0 for the rest
ID_FORMS = "dmc:domain-task (state vectors) or dmc:domain-task:pixels (64x64 RGB frames)"
GL_HELP = ("Pixels render headless through EGL or OSMesa: install the Debian packages libegl1 libgl1 "
           "libgl1-mesa-dri libosmesa6 (scripts/setup.sh does), or set MUJOCO_GL to a backend that works here "
           "(egl, osmesa, or glfw with a display) before dm_control is imported.")
_GL_PROBE = "import mujoco; context = mujoco.GLContext(8, 8); context.make_current(); context.free()"


@functools.cache
def headless_gl() -> str | None:
    """The first of EGL and OSMesa that makes a MuJoCo GL context here, or None.

    Each is tried in a child process: a backend that fails to load cannot be
    unloaded, and would leave this process unable to try the next.
    """
    for backend in ("egl", "osmesa"):
        probe = subprocess.run([sys.executable, "-c", _GL_PROBE], env={**os.environ, "MUJOCO_GL": backend},
                               capture_output=True, timeout=120, check=False)
        if probe.returncode == 0:
            return backend
    return None


def _choose_gl(pixels: bool) -> None:
    """Set MUJOCO_GL, unless the user has, before dm_control reads it on import (it cannot change after)."""
    if "MUJOCO_GL" in os.environ or "dm_control._render" in sys.modules:
        return
    backend = headless_gl()
    if backend is not None:
        os.environ["MUJOCO_GL"] = backend
    elif pixels:
        raise ConfigError(f"cannot render DeepMind Control pixels: neither EGL nor OSMesa can make an OpenGL "
                          f"context here. {GL_HELP}")


def _gl_setting() -> str:
    gl = os.environ.get("MUJOCO_GL")
    return "MUJOCO_GL unset" if gl is None else f"MUJOCO_GL={gl}"


def make_dmc_env(task: str, *, action_repeat: int = 2) -> gym.Env:
    """The dm_control task ``task`` as a gymnasium Env.

    ``task`` is "domain-task" (e.g. "walker-walk", "cup-catch") for state vectors, or
    "domain-task:pixels" for 64x64 RGB frames of camera 0 (2 for quadruped), as the
    official DreamerV3 and TD-MPC2 wrappers render them.
    """
    if action_repeat < 1:
        raise ConfigError(f"action_repeat must be at least 1, got {action_repeat}")
    task, _, kind = task.partition(":")
    if kind not in ("", "pixels"):
        raise ConfigError(f"unknown observation kind {kind!r} in dmc:{task}:{kind}; the id forms are {ID_FORMS}.")
    _choose_gl(pixels=bool(kind))
    try:
        with warnings.catch_warnings():
            # With MUJOCO_GL unset (no backend works here), dm_control probes glfw on import, which warns
            # without a display; state observations never render, so the warning is noise.
            warnings.filterwarnings("ignore", message=".*DISPLAY environment variable is missing")
            from dm_control import suite
    except ImportError as exc:
        raise ConfigError(f"dmc: ids need DeepMind Control, which is not installed ({exc}). "
                          f"Install it with: pip install dm_control") from exc
    except (RuntimeError, AttributeError, OSError) as exc:  # what dm_control raises for a MUJOCO_GL it cannot load
        raise ConfigError(f"dm_control cannot load its OpenGL backend ({_gl_setting()}: {exc}). {GL_HELP}") from exc
    domain, _, name = task.rpartition("-")
    domain = DOMAIN_ALIASES.get(domain, domain)
    if (domain, name) not in suite.ALL_TASKS:
        known = [f"{d}-{t}" for d, t in suite.ALL_TASKS]
        close = difflib.get_close_matches(f"{domain}-{name}", known, n=3, cutoff=0.6)
        hint = f"Did you mean {', '.join(close)}?" if close else f"Known tasks: {', '.join(known)}."
        raise ConfigError(f"unknown DeepMind Control task {task!r} (ids are {ID_FORMS}). {hint}")
    env = suite.load(domain, name)
    if math.isinf(env._step_limit):  # lqr: give it a time limit, so episode_length is finite
        env = suite.load(domain, name, task_kwargs={"time_limit": STANDARD_STEPS * env.control_timestep()})
    if not kind:
        return DMCEnv(env, action_repeat)
    camera = PIXELS_CAMERAS.get(domain, 0)
    try:  # one frame now, so a backend that loads but cannot render fails here, with the fix, not mid-run
        env.physics.render(PIXELS_SIZE, PIXELS_SIZE, camera_id=camera)
    except Exception as exc:  # noqa: BLE001 - GL failures surface as many types (FatalError, RuntimeError, ...)
        raise ConfigError(f"cannot render dmc:{task}:pixels ({_gl_setting()}; {type(exc).__name__}: {exc}). "
                          f"{GL_HELP}") from exc
    return DMCEnv(env, action_repeat, camera)


class DMCEnv(gym.Env[np.ndarray, np.ndarray]):
    """A dm_control ``Environment`` (with a time limit) behind the gymnasium API; see :func:`make_dmc_env`.

    ``reset(seed=s)`` reseeds the task's random state, so an episode depends only
    on ``s`` and the actions; ``reset()`` continues the task's random stream.
    An episode that dm_control ends with discount 0 is ``terminated``; one ended
    by the time limit is ``truncated``. With a ``camera``, observations are that
    camera's uint8 ``(64, 64, 3)`` frame instead of the state vector.
    """

    def __init__(self, env: Any, action_repeat: int, camera: int | None = None) -> None:
        self._env = env
        self.action_repeat = action_repeat
        self.camera = camera
        # dm_control ends an episode after ceil(time limit / control timestep) steps; it keeps that count private.
        self.episode_length = math.ceil(math.ceil(env._step_limit) / action_repeat)
        if camera is None:
            size = sum(math.prod(spec.shape) for spec in env.observation_spec().values())
            self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), np.float32)
        else:
            self.observation_space = gym.spaces.Box(0, 255, (PIXELS_SIZE, PIXELS_SIZE, 3), np.uint8)
        spec = env.action_spec()
        self.action_space = gym.spaces.Box(spec.minimum.astype(np.float32), spec.maximum.astype(np.float32),
                                           spec.shape, np.float32)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; with ``seed`` its initial state is reproducible."""
        super().reset(seed=seed)
        if seed is not None:
            self._env.task.random.seed(seed)
        return self._observe(self._env.reset().observation), {}

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
        return self._observe(step.observation), float(reward), terminated, step.last() and not terminated, {}

    def render(self) -> np.ndarray:
        """A 240x320 RGB frame of the observation camera (camera 0 for state tasks), for videos."""
        return self._env.physics.render(240, 320, camera_id=self.camera or 0)

    def close(self) -> None:
        """Free MuJoCo's data and GL contexts now; left to exit, dm_control's OSMesa clean-up fails noisily."""
        self._env.physics.free()

    def _observe(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        if self.camera is None:
            return np.concatenate([np.asarray(v, np.float32).ravel() for v in observation.values()])
        frame = self._env.physics.render(PIXELS_SIZE, PIXELS_SIZE, camera_id=self.camera)
        return np.ascontiguousarray(frame)  # MuJoCo's rows come flipped, as a negative-stride view
