"""The agent interface: what a family gives the Trainer so one loop trains every family.

A family registers its agent class beside its builder (``add_preset(..., agent=
"module:Class")``); the Trainer finds it through the catalog. The agent is the
family's training object: it owns the optimisers, the update and the acting
state (a recurrent latent, a planner's warm start); the Trainer owns
environments, replay, the update schedule, checkpoints and logging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch

from worldflux.building import preset_for_family
from worldflux.errors import ConfigError
from worldflux.lazy import load_ref
from worldflux.types import Batch

if TYPE_CHECKING:
    from worldflux.types import Observation


@runtime_checkable
class Agent(Protocol):
    """A family's acting and learning, in the units the Trainer schedules.

    ``window`` steps per replayed sequence and ``batch_size`` sequences per
    update; ``within_episode`` keeps sequences inside one episode;
    ``train_ratio`` is the default number of replayed steps trained per env
    step; ``seed_steps`` env steps act uniformly at random before training,
    which then starts with ``pretrain_ratio`` updates per seed step at once.
    Updates also wait until the replay holds ``min_windows`` windows (start
    positions, over all environments).
    ``replay_context`` names the float32 entries (name -> per-environment shape)
    the agent stores with each step it acts on, read after :meth:`act` through
    :meth:`replay_entries`; each replayed window then starts with the entries
    and action of the step before it, as :attr:`Batch.context` (empty: none).
    """

    window: int
    batch_size: int
    within_episode: bool
    train_ratio: float
    seed_steps: int
    pretrain_ratio: float
    min_windows: int
    replay_context: dict[str, tuple[int, ...]]

    def act(self, obs: Observation, is_first: torch.Tensor, explore: bool) -> torch.Tensor:
        """Actions ``[E, A]`` for observations ``[E, ...]`` (a dict of such tensors for dict observations):
        one-hot if discrete, else in [-1, 1]."""

    def replay_entries(self) -> dict[str, torch.Tensor]:
        """The ``replay_context`` entries ``[E, ...]`` of the step just acted on."""

    def update(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One training step on ``batch``; returns scalar metrics (tensors, no host sync)."""

    def state_dict(self) -> dict[str, Any]:
        """Optimiser and acting state: nested dicts of tensors and JSON values."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""

    def compile(self) -> None:
        """Compile the hot paths (acting, the update's loss) with ``torch.compile``."""


def make_agent(model: Any, num_envs: int) -> Agent:
    """The agent registered for ``model``'s preset, acting in ``num_envs`` environments at once."""
    family = getattr(model, "family", None)
    preset = None if family is None else preset_for_family(family, getattr(model, "preset_name", None))
    if preset is None or preset.agent is None:
        raise ConfigError(
            f"{type(model).__name__} ({family or '?'}) cannot be trained by the Trainer: its family registers "
            f"no agent. See docs/training.md, 'The agent interface'."
        )
    return load_ref(preset.agent, provider=str(preset.provider))(model, num_envs)
