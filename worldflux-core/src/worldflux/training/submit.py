"""Training in the background: a prepared run directory, trained by ``python -m worldflux.training.worker``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from worldflux.protocol import model_name
from worldflux.runs import Job, RunDir, launch, open_run

if TYPE_CHECKING:
    from worldflux.training.trainer import Trainer


def prepare_run(trainer: Trainer) -> RunDir:
    """Open ``trainer``'s run directory (config and initial model) so that a worker anywhere can start it."""
    from worldflux.saving import save_model

    c = trainer.config
    with open_run(c.run_dir, model_name=model_name(trainer.model), env=c.env, config=c) as run:
        if not trainer.resuming:
            save_model(trainer.model, run.model)
    return run  # unlocked again: the worker holds the lock while it trains


def worker_command(run_dir: Path) -> list[str]:
    """The command that trains a prepared run directory."""
    return [sys.executable, "-m", "worldflux.training.worker", str(run_dir)]


def submit_native(trainer: Trainer) -> Job:
    """Prepare the run directory of ``trainer`` and train it in a background worker process."""
    run = prepare_run(trainer)
    return launch(run.path, worker_command(run.path), kind="native")
