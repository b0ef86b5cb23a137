"""Runs: the directory one training run reads and writes, its config, metrics, status and job registry.

Every executor (the native Trainer, background jobs, the official backends, Ray) opens its run with
:func:`open_run` and is observed as a :class:`Job`. No torch here.
"""

from __future__ import annotations

from worldflux.runs.jobs import (ACTIVE, DONE, Job, get_job, launch, list_jobs, new_job_id, register_job,
                                 write_status)
from worldflux.runs.lock import hold
from worldflux.runs.metrics import METRICS_FILE, MetricsLog, read_metrics
from worldflux.runs.opening import open_run
from worldflux.runs.rundir import RunDir, default_run_dir, slug

__all__ = ["ACTIVE", "DONE", "METRICS_FILE", "Job", "MetricsLog", "RunDir", "default_run_dir", "get_job", "hold",
           "launch", "list_jobs", "new_job_id", "open_run", "read_metrics", "register_job", "slug", "write_status"]
