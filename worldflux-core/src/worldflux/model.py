"""A torch base class that gives a family's model the protocol's shared parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from worldflux.types import LatentState, Trajectory


class WorldModelBase(nn.Module):
    """Subclass this, set ``family``, and implement the per-step protocol methods.

    Provides :meth:`rollout` from :meth:`predict`, :meth:`save_pretrained`,
    :meth:`num_parameters` and :attr:`device`. ``preset_name`` is set by ``create_world_model``.
    """

    family: ClassVar[str]

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.preset_name: str | None = None

    @property
    def device(self) -> torch.device:
        """Where the model's weights live: create new tensors (an initial state) here."""
        for tensor in self.parameters():
            return tensor.device
        return torch.device("cpu")

    def rollout(self, state: LatentState, actions: torch.Tensor) -> Trajectory:
        """Imagine ``actions`` ``[B, H, A]`` open-loop by chaining :meth:`predict`."""
        states, rewards, continues = [], [], []
        for t in range(actions.shape[1]):
            step = self.predict(state, actions[:, t])  # type: ignore[attr-defined]
            state = step.state
            states.append(state)
            rewards.append(step.reward)
            continues.append(step.cont)
        return Trajectory(LatentState.stack(states), torch.stack(rewards, 1), torch.stack(continues, 1))

    def save_pretrained(self, path: str | Path) -> None:
        """Write config and weights to the directory ``path``; see :mod:`worldflux.saving`."""
        from worldflux.saving import save_model

        save_model(self, path)

    def num_parameters(self, trainable_only: bool = True) -> int:
        """The number of (trainable) parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)
