"""Tiny agents and short runs shared by the training tests and their subprocess scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
