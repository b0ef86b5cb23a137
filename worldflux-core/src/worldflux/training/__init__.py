"""Training: one Trainer for every family, on real environments, in process or as a background job.

Names are imported on first use (PEP 562), so that importing the package does not import torch.
Jobs live in :mod:`worldflux.runs`; ``Job``, ``get_job`` and ``list_jobs`` are re-exported here.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Agent": "worldflux.training.agent",
    "Job": "worldflux.runs.jobs",
    "Replay": "worldflux.training.replay",
    "Trainer": "worldflux.training.trainer",
    "TrainingConfig": "worldflux.training.config",
    "create_for_env": "worldflux.training.build",
    "evaluate": "worldflux.training.evaluation",
    "get_job": "worldflux.runs.jobs",
    "list_jobs": "worldflux.runs.jobs",
    "prepare_run": "worldflux.training.submit",
    "worker_command": "worldflux.training.submit",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'worldflux.training' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
