"""Training: one Trainer for every family, on real environments, in process or as a background job."""

from worldflux.training.agent import Agent
from worldflux.training.build import create_for_env
from worldflux.training.config import TrainingConfig
from worldflux.training.evaluate import evaluate
from worldflux.training.jobs import Job, get_job, list_jobs
from worldflux.training.replay import Replay
from worldflux.training.trainer import Trainer

__all__ = ["Agent", "Job", "Replay", "Trainer", "TrainingConfig", "create_for_env", "evaluate", "get_job", "list_jobs"]
