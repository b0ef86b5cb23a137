"""One writer per run directory: an exclusive lock on ``RUN/.lock``, released when its holder ends, even by a kill."""

from __future__ import annotations

import contextlib
from typing import Iterator

import filelock

from worldflux.errors import WorldFluxError
from worldflux.runs.rundir import RunDir

LOCK_FILE = ".lock"


@contextlib.contextmanager
def hold(run: RunDir) -> Iterator[RunDir]:
    """Hold ``run``'s lock while writing it; raise at once if another process (or Trainer) holds it."""
    if run.path.exists() and not run.path.is_dir():
        raise WorldFluxError(f"{run.path} is a file, not a run directory. Choose another directory (--out).")
    try:
        run.path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorldFluxError(f"cannot use {run.path} as a run directory: {exc.strerror or exc}. Choose a directory "
                             f"you can write to (--out).") from None
    lock = filelock.FileLock(run.path / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise WorldFluxError(f"another process is writing {run.path} (it holds {run.path / LOCK_FILE}); wait for it "
                             f"to end, cancel its job (worldflux jobs list), or choose another run directory") from None
    try:
        yield run
    finally:
        lock.release()
