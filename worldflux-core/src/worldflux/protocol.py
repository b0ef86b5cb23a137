"""The WorldModel protocol: what every family's model offers, whatever its insides.

A recurrent model (DreamerV3) and a deterministic one (TD-MPC2) fit the same
calls: ``prior`` steps the latent with an action, ``posterior`` corrects it with
the observation seen at that step, and ``encode`` is the posterior from nothing.
See ``docs/protocol.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

    from worldflux.types import Batch, LatentState, LossOutput, Observation, Prediction, Trajectory


@runtime_checkable
class WorldModel(Protocol):
    """A learned model of an environment's dynamics in latent space."""

    config: Any
    """The frozen attrs config the model was built from; has ``obs_shape`` and ``action_dim``."""

    def initial_state(self, batch_size: int) -> LatentState:
        """The latent state before any observation."""
        ...

    def encode(self, obs: Observation) -> LatentState:
        """The latent state from observations ``[B, *obs_shape]`` alone."""
        ...

    def prior(self, state: LatentState, action: torch.Tensor) -> LatentState:
        """Step the latent with ``action`` ``[B, action_dim]``, without looking at the world."""
        ...

    def posterior(self, state: LatentState, obs: Observation) -> LatentState:
        """Correct the prior ``state`` with the observation seen at that step."""
        ...

    def predict(self, state: LatentState, action: torch.Tensor) -> Prediction:
        """Next state, reward and continue probability of taking ``action`` in ``state``."""
        ...

    def value(self, state: LatentState) -> torch.Tensor:
        """The expected discounted return ``[B]`` from ``state`` under the model's own policy."""
        ...

    def rollout(self, state: LatentState, actions: torch.Tensor) -> Trajectory:
        """Imagine ``actions`` ``[B, H, action_dim]`` open-loop from ``state``."""
        ...

    def loss(self, batch: Batch) -> LossOutput:
        """The world-model training loss on a replayed batch."""
        ...

    def save_pretrained(self, path: str | Path) -> None:
        """Write config and weights to the directory ``path`` (see ``create_world_model(path)``)."""
        ...


def model_name(model: Any) -> str:
    """The preset a model was built from, else its family (names runs and error messages)."""
    return getattr(model, "preset_name", None) or getattr(model, "family", type(model).__name__)
