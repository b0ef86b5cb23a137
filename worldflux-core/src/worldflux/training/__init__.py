"""Training: replay of environment steps (the Trainer lands here next)."""

from worldflux.training.replay import Replay

__all__ = ["Replay"]
