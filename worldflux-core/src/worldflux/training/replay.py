"""A replay of environment steps from parallel environments, sampled as ``[B, T]`` windows.

Each entry is one environment output plus the action taken there (the
:class:`~worldflux.types.Batch` convention), and optionally what the agent
stored at that step (its ``replay_context``, e.g. DreamerV3's posterior state).
Storage is preallocated, so memory is bounded; observations keep their dtype,
so images stay uint8. A dict observation is stored part by part. When full,
the oldest steps are overwritten.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from worldflux.errors import WorldFluxError
from worldflux.types import Batch, map_obs


def obs_fields(obs: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """An observation as replay fields: ``obs``, or ``obs/<name>`` per part of a dict observation.

    Flat names keep :meth:`Replay.rows` (and so the chunk files on disk) one level deep.
    """
    if isinstance(obs, Mapping):
        return {f"obs/{k}": v for k, v in obs.items()}
    return {"obs": obs}


class Replay:
    """Ring buffers of ``capacity`` steps for each of ``num_envs`` environment streams.

    With ``within_episode`` a sampled window never contains an episode start
    after its first step (TD-MPC2's windows); without it windows may cross
    episodes, and models reset their state at ``is_first`` (DreamerV3).
    ``context`` names float32 per-step entries (name -> shape) the agent stores;
    then each sampled window is preceded by one context step whose entries and
    action become :attr:`Batch.context`. For dict observations ``obs_shape`` and
    ``obs_dtype`` are mappings of part name -> shape and -> dtype, and
    :attr:`Batch.obs` is a dict of the parts.
    """

    def __init__(self, capacity: int, obs_shape: Sequence[int] | Mapping[str, Sequence[int]], action_dim: int, *,
                 num_envs: int = 1, obs_dtype: np.dtype | type | Mapping[str, np.dtype | type] = np.float32,
                 within_episode: bool = False, context: Mapping[str, Sequence[int]] | None = None) -> None:
        e, c = num_envs, capacity
        if isinstance(obs_shape, Mapping):
            self.obs = {k: np.zeros((e, c, *shape), obs_dtype[k]) for k, shape in obs_shape.items()}
        else:
            self.obs = np.zeros((e, c, *obs_shape), obs_dtype)
        self.action = np.zeros((e, c, action_dim), np.float32)
        self.reward = np.zeros((e, c), np.float32)
        self.is_first = np.zeros((e, c), bool)
        self.is_terminal = np.zeros((e, c), bool)
        self.context = {name: np.zeros((e, c, *shape), np.float32) for name, shape in (context or {}).items()}
        self._store = {**obs_fields(self.obs), "action": self.action, "reward": self.reward,
                       "is_first": self.is_first, "is_terminal": self.is_terminal, **self.context}
        self.fields = tuple(self._store)
        self.within_episode = within_episode
        self.pos = 0  # ring index of the next row
        self.count = 0  # rows held per environment
        self.total = 0  # rows ever added per environment (the persisted stream's length)

    def __len__(self) -> int:
        """Steps stored, over all streams."""
        return self.count * self.reward.shape[0]

    @property
    def capacity(self) -> int:
        """Rows held per environment at most."""
        return self.reward.shape[1]

    def add(self, obs: np.ndarray | Mapping[str, np.ndarray], action: np.ndarray, reward: np.ndarray,
            is_first: np.ndarray, is_terminal: np.ndarray, context: Mapping[str, np.ndarray] | None = None) -> None:
        """Append one step of every environment (arrays with a leading ``num_envs`` axis).

        ``context`` holds the agent's entries for this step; without them (random seeding) they are zero.
        """
        i = self.pos
        for name, value in obs_fields(obs).items():
            self._store[name][:, i] = value
        self.action[:, i], self.reward[:, i] = action, reward
        self.is_first[:, i], self.is_terminal[:, i] = is_first, is_terminal
        for name, store in self.context.items():
            store[:, i] = 0.0 if context is None else context[name]
        self.pos = (i + 1) % self.capacity
        self.count = min(self.count + 1, self.capacity)
        self.total += 1

    def rows(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """Rows ``[start, stop)`` of the stream (still held) as arrays ``[num_envs, stop - start, ...]``."""
        if not self.total - self.count <= start <= stop <= self.total:
            raise ValueError(f"rows [{start}, {stop}) are not held; the replay holds "
                             f"[{self.total - self.count}, {self.total})")
        idx = (self.pos - (self.total - np.arange(start, stop))) % self.capacity
        return {k: self._store[k][:, idx] for k in self.fields}

    def extend(self, rows: dict[str, np.ndarray]) -> None:
        """Append rows ``[num_envs, n, ...]`` (as :meth:`rows` returns) in order."""
        n = rows["reward"].shape[1]
        keep = min(n, self.capacity)
        idx = (self.pos + np.arange(n - keep, n)) % self.capacity
        for k in self.fields:
            self._store[k][:, idx] = rows[k][:, n - keep:]
        self.pos = (self.pos + n) % self.capacity
        self.count = min(self.count + n, self.capacity)
        self.total += n

    def episode_start(self, env: int) -> int:
        """Stream index of environment ``env``'s latest ``is_first`` row (its current episode's start)."""
        held = self.rows(self.total - self.count, self.total)["is_first"][env]
        starts = np.flatnonzero(held)
        if not len(starts):
            raise WorldFluxError(f"the start of environment {env}'s current episode is no longer held; an "
                                 f"episode longer than the replay cannot be resumed (raise replay_capacity)")
        return self.total - self.count + int(starts[-1])

    def sample(self, rng: np.random.Generator, batch: int, length: int) -> Batch:
        """``batch`` windows of ``length`` consecutive steps, drawn uniformly (vectorised).

        With context entries each window has one step more in front: its stored
        entries and action are the batch's ``context``, the rest is the window.
        """
        lead = 1 if self.context else 0
        length += lead
        if self.count < length:
            raise ValueError(f"replay holds {self.count} steps per environment; a window needs {length}")
        envs, steps = np.empty(0, np.int64), np.empty((0, length), np.int64)
        oldest = (self.pos - self.count) % self.capacity
        for _ in range(100):
            e = rng.integers(0, self.reward.shape[0], 4 * batch)
            start = rng.integers(0, self.count - length + 1, 4 * batch)
            idx = (oldest + start[:, None] + np.arange(length)) % self.capacity
            if self.within_episode:
                keep = ~self.is_first[e[:, None], idx[:, 1:]].any(1)
                e, idx = e[keep], idx[keep]
            envs, steps = np.concatenate([envs, e]), np.concatenate([steps, idx])
            if len(envs) >= batch:
                break
        else:
            raise ValueError(f"no window of {length} steps fits inside an episode; episodes are shorter than "
                             f"the window, or the replay holds too few of them")
        e, before, idx = envs[:batch], steps[:batch, 0], steps[:batch, lead:]
        context = None
        if lead:
            context = {name: torch.from_numpy(store[e, before]) for name, store in self.context.items()}
            context["action"] = torch.from_numpy(self.action[e, before])
        e = e[:, None]
        return Batch(
            obs=map_obs(self.obs, lambda store: torch.from_numpy(store[e, idx])),
            action=torch.from_numpy(self.action[e, idx]),
            reward=torch.from_numpy(self.reward[e, idx]),
            is_first=torch.from_numpy(self.is_first[e, idx]),
            is_terminal=torch.from_numpy(self.is_terminal[e, idx]),
            context=context,
        )
