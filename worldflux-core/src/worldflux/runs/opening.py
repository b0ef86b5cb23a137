"""The one way an executor starts writing a run directory."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

from worldflux.runs.jobs import refuse_busy
from worldflux.runs.lock import hold
from worldflux.runs.rundir import RunDir, default_run_dir


@contextlib.contextmanager
def open_run(run_dir: str | Path | None, *, model_name: str, env: str | None, config: Any,
             model_config: dict[str, Any] | None = None) -> Iterator[RunDir]:
    """The run directory ``run_dir`` (default ``runs/<model>-<env>-<time>``), locked, checked and with its config.

    Inside the ``with`` block this process is the directory's only writer: another one is refused, and so is
    a directory whose registered job is still working. Temporaries left by a killed writer are removed.
    ``model_name``, ``config`` (a TrainingConfig) and ``model_config`` are recorded in ``run.json``. The
    native Trainer, background jobs, the official backends and Ray all start a run through here; a launcher
    leaves the block before its worker starts, and the worker holds the lock.
    """
    with hold(RunDir(run_dir or default_run_dir(model_name, env))) as run:
        refuse_busy(run.path)
        run.clear_temporaries()
        run.write_config(config, model_name, model_config)
        yield run
