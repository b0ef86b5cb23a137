"""The values the WorldModel protocol speaks. Tensors are batch-major: ``[B, ...]`` or ``[B, T, ...]``.

torch is imported inside methods only, so ``import worldflux`` stays light.
The classes are frozen dataclasses rather than attrs classes because
torch.compile traces dataclass constructors but not frozen attrs ones.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, Union


if TYPE_CHECKING:
    import torch

    Observation = Union[torch.Tensor, Mapping[str, torch.Tensor]]


def map_obs(obs: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn`` applied to an observation: one array, or each part of a dict observation (kept a dict)."""
    return {k: fn(v) for k, v in obs.items()} if isinstance(obs, Mapping) else fn(obs)


@dataclasses.dataclass(frozen=True)
class LatentState:
    """A family's latent state as named tensors sharing their leading (batch[, time]) dims.

    DreamerV3 holds ``deter``, ``stoch`` and ``logits``; TD-MPC2 holds ``z``.
    """

    tensors: Mapping[str, torch.Tensor]

    def __getitem__(self, key: str) -> torch.Tensor:
        return self.tensors[key]

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> LatentState:
        """Apply ``fn`` to every tensor."""
        return LatentState({k: fn(v) for k, v in self.tensors.items()})

    def detach(self) -> LatentState:
        return self.map(lambda t: t.detach())

    def to(self, device: torch.device | str) -> LatentState:
        return self.map(lambda t: t.to(device))

    def at(self, t: int) -> LatentState:
        """The state at time ``t`` of a ``[B, T, ...]`` state."""
        return self.map(lambda x: x[:, t])

    def flatten_time(self) -> LatentState:
        """``[B, T, ...]`` -> ``[B*T, ...]``, e.g. to start imagination from every step."""
        return self.map(lambda x: x.reshape(-1, *x.shape[2:]))

    @staticmethod
    def stack(states: Sequence[LatentState], dim: int = 1) -> LatentState:
        """Stack per-step states ``[B, ...]`` into ``[B, T, ...]`` (``dim=1``)."""
        import torch

        keys = states[0].tensors.keys()
        return LatentState({k: torch.stack([s.tensors[k] for s in states], dim) for k in keys})


@dataclasses.dataclass(frozen=True)
class Prediction:
    """What taking ``action`` in a state leads to: the next (prior) state, reward ``[B]`` and continue probability ``[B]``."""

    state: LatentState
    reward: torch.Tensor
    cont: torch.Tensor


@dataclasses.dataclass(frozen=True)
class Trajectory:
    """An open-loop rollout of ``H`` actions: next states ``[B, H, ...]``, rewards and continues ``[B, H]``."""

    states: LatentState
    rewards: torch.Tensor
    continues: torch.Tensor


@dataclasses.dataclass(frozen=True)
class Batch:
    """Replayed sequences, one entry per environment step, ``[B, T, ...]``.

    Entry ``t`` holds observation ``obs[t]``, the ``reward[t]`` received on
    arriving there, ``is_first[t]`` (an episode starts at ``t``),
    ``is_terminal[t]`` (the episode ended at ``obs[t]`` by termination, not
    truncation) and ``action[t]``, the action taken at ``obs[t]``.

    ``context`` (optional) is the replay context: what the family stored for
    the step just before the window, ``[B, ...]`` tensors by name, plus
    ``"action"``, the action taken at that step. A recurrent model starts its
    window from it instead of from its initial state (DreamerV3's
    ``replay_context``).
    """

    obs: Observation
    action: torch.Tensor
    reward: torch.Tensor
    is_first: torch.Tensor
    is_terminal: torch.Tensor
    context: Mapping[str, torch.Tensor] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """``(B, T)``."""
        return tuple(self.reward.shape[:2])  # type: ignore[return-value]

    def to(self, device: torch.device | str) -> Batch:
        return Batch(
            obs=map_obs(self.obs, lambda t: t.to(device)),
            action=self.action.to(device),
            reward=self.reward.to(device),
            is_first=self.is_first.to(device),
            is_terminal=self.is_terminal.to(device),
            context=None if self.context is None else {k: v.to(device) for k, v in self.context.items()},
        )


@dataclasses.dataclass(frozen=True)
class LossOutput:
    """A training loss: the scalar to minimise, detached scalar metrics, and the posterior states."""

    loss: torch.Tensor
    metrics: Mapping[str, torch.Tensor] = dataclasses.field(default_factory=dict)
    states: LatentState | None = None
