"""Environments for training: gymnasium ids and ``dmc:`` tasks, stepped together, in the agent's units.

Observations become float32 vectors or uint8 ``(C, S, S)`` images (with
``frame_stack`` k, the last k frames concatenated on channels, ``(k*C, S, S)``,
the first frame repeated at a reset: the official TD-MPC2 pixel input); actions
arrive one-hot (discrete) or in [-1, 1] (continuous, rescaled to the env's
bounds). An environment that ended is reset on its next step, which then
returns the new episode's first observation (the official DreamerV3
convention), so every environment yields one replay entry per step. Each
episode is reset with its own seed from ``(seed, env index, episode)``, which
is what lets a resumed run re-create an environment's exact state.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import attrs
import gymnasium as gym
import numpy as np
import torch

from worldflux.errors import ConfigError
from worldflux.log import get_logger

log = get_logger(__name__)
SPEC_FIELDS = ("obs_shape", "action_dim", "discrete_actions", "episode_length", "episodic", "obs_space")
# gymnasium tasks whose episodes only ever end at their time limit (all others can terminate)
DEFAULT_IMAGE_SIZE = 64  # frames that are not square are resized to this unless image_size says otherwise
NEVER_TERMINATE = ("Pendulum", "HalfCheetah", "Swimmer", "Reacher", "Pusher")


@attrs.frozen
class EnvSpec:
    """What a model must match: observation shape and dtype, action size and kind, episode length, and
    whether episodes can terminate before their time limit (``episodic``)."""

    env_id: str
    obs_shape: tuple[int, ...]
    obs_dtype: type
    action_dim: int
    discrete_actions: bool
    episode_length: int | None
    episodic: bool
    obs_space: dict[str, tuple[int, ...]] | None = None
    """Dict observations: part name -> shape of one (C, S, S) uint8 image (``obs_shape`` and ``obs_dtype`` are
    its) and any number of (D,) float32 vectors; None for one observation array."""

    def config_values(self, config_class: type) -> dict[str, Any]:
        """The spec as values of the model config fields ``config_class`` has (obs_shape, action_dim, ...)."""
        names = {f.name for f in attrs.fields(config_class)}
        self._check_takes_dicts(names, config_class.__name__)
        return {k: getattr(self, k) for k in SPEC_FIELDS if k in names and getattr(self, k) is not None}

    def obs_layout(self) -> tuple[Any, Any]:
        """Shape and dtype of the observations the pool returns (and the replay stores); for dict
        observations, mappings of part name -> shape and -> dtype."""
        if self.obs_space is None:
            return self.obs_shape, self.obs_dtype
        return dict(self.obs_space), {k: np.uint8 if len(s) == 3 else np.float32 for k, s in self.obs_space.items()}

    def _check_takes_dicts(self, config_fields: set[str], model_name: str) -> None:
        """A family whose config has no ``obs_space`` field takes one observation array only."""
        if self.obs_space is not None and "obs_space" not in config_fields:
            raise ConfigError(f"{model_name} takes one observation array; {self.env_id} gives dict observations "
                              f"{self.obs_space}. Use a family that takes dict observations (dreamerv3), or wrap "
                              f"the env to give one array (e.g. gymnasium.wrappers.FlattenObservation).")

    def check_fits(self, config: Any, model_name: str) -> None:
        """Raise ConfigError, before any training, if the model's config does not fit this environment."""
        self._check_takes_dicts({f.name for f in attrs.fields(type(config))}, model_name)
        discrete = getattr(config, "discrete_actions", False)
        problems = []
        if tuple(config.obs_shape) != self.obs_shape:
            problems.append(f"observations of shape {tuple(config.obs_shape)}, the env gives {self.obs_shape}")
        parts = getattr(config, "obs_space", None)
        if parts != self.obs_space:
            problems.append(f"observation parts {parts or '(none: one array)'}, the env gives "
                            f"{self.obs_space or 'one array'}")
        if config.action_dim != self.action_dim:
            problems.append(f"{config.action_dim} action dims, the env has {self.action_dim}")
        if discrete != self.discrete_actions:
            kind = "discrete" if self.discrete_actions else "continuous"
            if not hasattr(config, "discrete_actions"):
                raise ConfigError(f"{model_name} takes continuous actions only; {self.env_id} has {kind} "
                                  f"actions. Use a family with discrete actions (e.g. dreamerv3) for it.")
            problems.append(f"{'discrete' if discrete else 'continuous'} actions, the env's are {kind}")
        if problems:
            fix = ", ".join(f"{k}={v!r}" for k, v in self.config_values(type(config)).items())
            raise ConfigError(f"{model_name} does not fit {self.env_id}: the model expects "
                              f"{'; '.join(problems)}. Build it for this env with create_world_model(..., {fix}) "
                              f"(worldflux train does this for you).")
        length = getattr(config, "episode_length", None)
        if length is not None and self.episode_length is not None and length != self.episode_length:
            log.warning("%s has episode_length=%d but %s episodes last %d steps; the discount follows the "
                        "config", model_name, length, self.env_id, self.episode_length)


def _make_one(env_id: str, render: bool = False) -> gym.Env:
    """The environment ``env_id``; with ``render``, one whose ``render()`` returns RGB frames (dmc: and atari:
    environments always do)."""
    if env_id.startswith("dmc:"):
        from worldflux.training.dmc import make_dmc_env

        return make_dmc_env(env_id.removeprefix("dmc:"))
    if env_id.startswith("atari:"):
        from worldflux.training.atari import make_atari_env

        return make_atari_env(env_id.removeprefix("atari:"))
    try:
        if render:  # frames are drawn off screen: SDL (pygame) needs no display, and complains without one
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
            return gym.make(env_id, render_mode="rgb_array")
        return gym.make(env_id)
    except gym.error.Error as exc:
        raise ConfigError(f"cannot make environment {env_id!r}: {exc}. Use a gymnasium id such as "
                          f"'Pendulum-v1', a DeepMind Control task such as 'dmc:cartpole-swingup' or an Atari "
                          f"game such as 'atari:pong'.") from exc
    except ImportError as exc:
        raise ConfigError(f"environment {env_id!r} needs a package that is not installed: {exc}") from exc


def stack_frames(env: gym.Env, frames: int) -> gym.Env:
    """``env`` giving its last ``frames`` image observations concatenated on channels; other observations and
    ``frames`` 1 leave it as it is."""
    space = env.observation_space
    if frames == 1 or not _is_image(space):
        return env
    height, width, channels = space.shape
    stacked = gym.spaces.Box(0, 255, (height, width, frames * channels), np.uint8)
    return gym.wrappers.TransformObservation(gym.wrappers.FrameStackObservation(env, frames),
                                             lambda obs: np.concatenate(obs, axis=-1), stacked)


def frame_stack(config: Any) -> int:
    """How many frames a model's config asks to see at once (its ``frame_stack`` field; 1 without one)."""
    return int(getattr(config, "frame_stack", 1))


def _episode_length(env: gym.Env) -> int | None:
    if env.spec is not None and env.spec.max_episode_steps:
        return int(env.spec.max_episode_steps)
    return getattr(env.unwrapped, "episode_length", None)


def _can_terminate(env_id: str) -> bool:
    """DeepMind Control tasks and the gymnasium tasks in NEVER_TERMINATE end only at their time limit."""
    if env_id.startswith("dmc:"):
        return False
    return env_id.split("/")[-1].split("-v")[0] not in NEVER_TERMINATE


def _image_shape(space: gym.spaces.Box, image_size: int | None) -> tuple[int, int, int]:
    """``(C, S, S)``: frames are resized to ``image_size``, or (None) kept at their size when square, else 64."""
    height, width, channels = space.shape
    size = image_size or (height if height == width else DEFAULT_IMAGE_SIZE)
    return int(channels), int(size), int(size)


def inspect(env: gym.Env, env_id: str, image_size: int | None) -> EnvSpec:
    """The EnvSpec of ``env``; ConfigError for spaces the families cannot use."""
    obs, act = env.observation_space, env.action_space
    obs_space = None
    if _is_vector(obs):
        obs_shape, obs_dtype = obs.shape, np.float32
    elif _is_image(obs):
        obs_shape, obs_dtype = _image_shape(obs, image_size), np.uint8
    elif isinstance(obs, gym.spaces.Dict):
        obs_space = _dict_parts(obs, env_id, image_size)
        obs_shape, obs_dtype = next(s for s in obs_space.values() if len(s) == 3), np.uint8
    else:
        raise ConfigError(f"{env_id} has observation space {obs}; supported are Box vectors (D,), uint8 Box "
                          f"images (H, W, C) and a Dict of one such image and any number of Box vectors. Wrap the "
                          f"env to produce one of them.")
    if isinstance(act, gym.spaces.Discrete):
        action_dim, discrete = int(act.n), True
    elif isinstance(act, gym.spaces.Box) and len(act.shape) == 1 and act.is_bounded():
        action_dim, discrete = act.shape[0], False
    else:
        raise ConfigError(f"{env_id} has action space {act}; supported are Discrete(n) and bounded 1-D Box "
                          f"actions.")
    return EnvSpec(env_id, tuple(int(d) for d in obs_shape), obs_dtype, int(action_dim), discrete,
                   _episode_length(env), _can_terminate(env_id), obs_space=obs_space)


def _is_vector(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 1


def _is_image(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 3 and space.dtype == np.uint8


def _dict_parts(space: gym.spaces.Dict, env_id: str, image_size: int | None) -> dict[str, tuple[int, ...]]:
    """The parts of a Dict observation space (DreamerV3's image plus vectors); ConfigError for any other content."""
    parts: dict[str, tuple[int, ...]] = {}
    for key, part in space.spaces.items():
        if isinstance(key, str) and _is_vector(part):
            parts[key] = (int(part.shape[0]),)
        elif isinstance(key, str) and _is_image(part):
            parts[key] = _image_shape(part, image_size)
    if len(parts) != len(space.spaces) or sum(len(shape) == 3 for shape in parts.values()) != 1:
        raise ConfigError(f"{env_id} has observation space {space}; a Dict observation is supported with string "
                          f"keys, exactly one uint8 Box image (H, W, C) and any number of 1-D Box vectors. Wrap "
                          f"the env to produce that, or one array.")
    return parts


def env_spec(env_id: str, image_size: int | None = None, frames: int = 1) -> EnvSpec:
    """Make ``env_id`` once to read its spec, with ``frames`` image frames stacked (a wrong id is a ConfigError
    here)."""
    env = stack_frames(_make_one(env_id), frames)
    try:
        return inspect(env, env_id, image_size)
    finally:
        env.close()


def episode_seed(seed: int, env_index: int, episode: int) -> int:
    """The reset seed of one episode of one environment stream."""
    return int(np.random.SeedSequence([seed, env_index, episode]).generate_state(1)[0])


class Step(NamedTuple):
    """One step of every environment: arrays with a leading ``num_envs`` axis (``obs``: a dict of them for dict
    observations)."""

    obs: np.ndarray | dict[str, np.ndarray]
    reward: np.ndarray
    is_first: np.ndarray
    is_terminal: np.ndarray
    is_last: np.ndarray


class EnvPool:
    """``num_envs`` copies of one environment, reset per episode from derived seeds, showing ``frames`` stacked
    image frames."""

    def __init__(self, env_id: str, num_envs: int, seed: int, image_size: int | None = None, first_index: int = 0,
                 render: bool = False, frames: int = 1) -> None:
        self.envs = [stack_frames(_make_one(env_id, render), frames) for _ in range(num_envs)]
        self.spec = inspect(self.envs[0], env_id, image_size)
        self.seed, self.first_index = seed, first_index
        space = self.envs[0].action_space
        self.low = None if self.spec.discrete_actions else space.low.astype(np.float32)
        self.high = None if self.spec.discrete_actions else space.high.astype(np.float32)
        self.episodes = np.zeros(num_envs, np.int64)  # episodes started, per env
        self.done = np.ones(num_envs, bool)  # the next step resets these

    def _obs(self, obs: Any) -> np.ndarray | dict[str, np.ndarray]:
        if self.spec.obs_space is None:
            return self._array(obs, self.spec.obs_shape)
        return {k: self._array(obs[k], shape) for k, shape in self.spec.obs_space.items()}

    def _array(self, obs: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        if len(shape) == 1:
            return np.asarray(obs, np.float32)
        image = torch.from_numpy(np.ascontiguousarray(obs)).permute(2, 0, 1)
        if image.shape[1:] != shape[1:]:
            image = torch.nn.functional.interpolate(image[None].float(), shape[1:], mode="area")[0]
            image = image.round().clamp(0, 255).to(torch.uint8)
        return image.numpy()

    def env_action(self, action: np.ndarray) -> Any:
        """The env's action for one agent action (one-hot -> index; [-1, 1] -> [low, high])."""
        if self.spec.discrete_actions:
            return int(np.argmax(action))
        return self.low + (np.clip(action, -1, 1) + 1) / 2 * (self.high - self.low)

    def reset_env(self, i: int) -> np.ndarray | dict[str, np.ndarray]:
        """Start the next episode of environment ``i``."""
        obs, _ = self.envs[i].reset(seed=episode_seed(self.seed, self.first_index + i, int(self.episodes[i])))
        self.episodes[i] += 1
        self.done[i] = False
        return self._obs(obs)

    def restore(self, i: int, episode: int, actions: np.ndarray) -> np.ndarray | dict[str, np.ndarray]:
        """Re-create environment ``i`` inside episode ``episode`` by replaying ``actions``; returns the last obs."""
        self.episodes[i] = episode
        obs = self.reset_env(i)
        for action in actions:
            o, *_ = self.envs[i].step(self.env_action(action))
            obs = self._obs(o)
        return obs

    def step(self, actions: np.ndarray) -> Step:
        """Step every environment with its agent action (ignored, and the env reset, where the last ended)."""
        n = len(self.envs)
        obs: list[Any] = [None] * n
        reward, first = np.zeros(n, np.float32), np.zeros(n, bool)
        terminal, last = np.zeros(n, bool), np.zeros(n, bool)
        for i, env in enumerate(self.envs):
            if self.done[i]:
                obs[i], first[i] = self.reset_env(i), True
                continue
            o, r, term, trunc, _ = env.step(self.env_action(actions[i]))
            obs[i], reward[i], terminal[i], last[i] = self._obs(o), r, term, term or trunc
            self.done[i] = last[i]
        return Step(_stack(obs), reward, first, terminal, last)

    def close(self) -> None:
        for env in self.envs:
            env.close()


def _stack(obs: list[Any]) -> np.ndarray | dict[str, np.ndarray]:
    """Per-environment observations stacked along a new leading axis (part by part for dict observations)."""
    if isinstance(obs[0], dict):
        return {k: np.stack([o[k] for o in obs]) for k in obs[0]}
    return np.stack(obs)
