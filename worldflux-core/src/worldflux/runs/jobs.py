"""Jobs: a run working in the background, observed and controlled through its run directory.

``job.json`` (written by the launcher: id, pid, command) and ``status.json``
(written by the worker: running, finished, failed, cancelled) live in the run
directory, and a registry entry in ``$WORLDFLUX_HOME/jobs`` (default
``~/.worldflux/jobs``) points at it, so any process can list, watch or cancel
a job. Workers run in their own process group, which cancel ends as a whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from worldflux.atomic import write_json_atomic
from worldflux.errors import WorldFluxError
from worldflux.runs.metrics import read_metrics
from worldflux.runs.rundir import RunDir

STATUS_FILE = "status.json"
ACTIVE = ("queued", "starting", "running")  # queued: a cluster backend has not started it yet
DONE = ("finished", "failed", "cancelled")


def jobs_home() -> Path:
    """Where job registry entries live: ``$WORLDFLUX_HOME/jobs`` (default ``~/.worldflux/jobs``)."""
    return Path(os.environ.get("WORLDFLUX_HOME", Path.home() / ".worldflux")) / "jobs"


def started_at(pid: int) -> float | None:
    """When process ``pid`` started (with the pid, what identifies the process), or None if there is none."""
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _alive(pid: int, started: float | None) -> bool:
    """Whether ``pid`` is still the process that was started at ``started`` (not a zombie, not a reused pid)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and (started is None or process.create_time() == started)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def write_status(run_dir: Path, status: str, **extra: Any) -> None:
    """Record the job's status in ``run_dir`` (done by the worker, or by cancel when the worker could not)."""
    write_json_atomic(Path(run_dir) / STATUS_FILE, {"status": status, "time": time.time(), **extra})


class Job:
    """A background run: ``status()``, ``wait()``, ``metrics()``, ``logs()``, ``cancel()`` and its ``run_dir``.

    Construct one for an existing job with ``Job(run_dir)`` or :func:`get_job`.
    """

    def __init__(self, run_dir: str | Path, process: subprocess.Popen[bytes] | None = None) -> None:
        self.run = RunDir(run_dir)
        self._process = process
        try:
            self.info = json.loads(self.run.job.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise WorldFluxError(f"{self.run.path} holds no job ({self.run.job}: {exc})") from exc

    @property
    def id(self) -> str:
        return self.info["id"]

    @property
    def run_dir(self) -> Path:
        return self.run.path

    def _status_record(self) -> dict[str, Any]:
        try:
            return json.loads((self.run.path / STATUS_FILE).read_text())
        except (OSError, json.JSONDecodeError):
            return {"status": "starting"}

    def _running(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        if "pid" not in self.info:  # queued: its worker has no pid yet, unless it started since
            self.info = json.loads(self.run.job.read_text())
        if "pid" not in self.info or self.info.get("host", socket.gethostname()) != socket.gethostname():
            return True  # not started, or on another machine: status.json is all there is to go by
        return _alive(self.info["pid"], self.info.get("started"))

    def status(self) -> str:
        """queued, starting, running, finished, failed or cancelled (a worker that vanished is failed)."""
        if self._process is not None:
            self._process.poll()  # collect our own exited child, so it leaves no zombie
        record = self._status_record()
        if record["status"] in ACTIVE and not self._running():
            record = self._status_record()  # it may have finished between the two reads
            if record["status"] in ACTIVE:
                write_status(self.run.path, "failed", error="the worker process exited without reporting; "
                             f"see {self.run.logs}")
                return "failed"
        return record["status"]

    def error(self) -> str | None:
        """Why the job failed (with the tail of its log), else None."""
        record = self._status_record()
        if self.status() != "failed":
            return None
        return f"{record.get('error', 'failed')}\n--- last lines of {self.run.logs} ---\n{self.logs(tail=20)}"

    def wait(self, timeout: float | None = None, poll: float = 0.5) -> str:
        """Block until the job ends; returns its final status. TimeoutError after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (status := self.status()) in ACTIVE:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id} is still {status} after {timeout} s")
            time.sleep(poll)
        return status

    def metrics(self) -> list[dict[str, Any]]:
        """The metrics records written so far (the schema of ``metrics.jsonl``)."""
        return read_metrics(self.run.path)

    def logs(self, tail: int | None = None) -> str:
        """The job's stdout and stderr so far (the last ``tail`` lines if given)."""
        text = self.run.logs.read_text(errors="replace") if self.run.logs.exists() else ""
        return "\n".join(text.splitlines()[-tail:]) if tail else text

    def cancel(self, timeout: float = 60.0) -> str:
        """Stop the job: SIGTERM (a native run checkpoints and exits; official backends stop without one), SIGKILL for the group after ``timeout`` s."""
        if self.status() in DONE:
            return self.status()
        if "pgid" not in self.info:  # queued: its backend does not start a run marked cancelled
            write_status(self.run.path, "cancelled", error="cancelled before it started")
            return "cancelled"
        if self.info.get("host", socket.gethostname()) != socket.gethostname():
            raise WorldFluxError(f"job {self.id} runs on {self.info['host']}; cancel it there")
        if not self._running():  # its worker is gone (its pid may belong to another process now): signal nobody
            return self.status()
        pgid = self.info["pgid"]
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._running() and time.monotonic() < deadline:
            time.sleep(0.2)
        _signal_group(pgid, signal.SIGKILL)  # the worker's children too, even if it exited cleanly
        if self._process is not None:
            self._process.wait()
        if self._status_record()["status"] in ACTIVE:
            write_status(self.run.path, "cancelled", error="killed after not stopping within the timeout")
        return self.status()

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, status={self.status()!r}, run_dir='{self.run_dir}')"


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def launch(run_dir: Path, command: list[str], kind: str, env: dict[str, str] | None = None) -> Job:
    """Start ``command`` as job ``run_dir.name`` in its own process group, logging to ``logs.txt``."""
    run = RunDir(run_dir)
    run.path.mkdir(parents=True, exist_ok=True)
    (run.path / STATUS_FILE).unlink(missing_ok=True)
    with run.logs.open("ab") as logs:
        process = subprocess.Popen(command, stdout=logs, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    job_id = new_job_id(run.path)
    write_json_atomic(run.job, {"id": job_id, "kind": kind, "pid": process.pid, "pgid": process.pid,
                                "started": started_at(process.pid), "host": socket.gethostname(),
                                "command": command, "created": time.time()})
    register_job(run.path, job_id)
    return Job(run.path, process)


def new_job_id(run_dir: Path) -> str:
    """The run directory's name, made unique with a hash of its path when another run already has that id."""
    name = run_dir.name
    if _registered(name) in (None, str(run_dir.resolve())):
        return name
    return f"{name}-{hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:8]}"


def _registered(job_id: str) -> str | None:
    """The run directory registered under ``job_id``, if any."""
    try:
        return json.loads((jobs_home() / f"{job_id}.json").read_text())["run_dir"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def register_job(run_dir: Path, job_id: str) -> None:
    """Add the job in ``run_dir`` to the registry under ``job_id`` (see :func:`new_job_id`)."""
    home = jobs_home()
    home.mkdir(parents=True, exist_ok=True)
    write_json_atomic(home / f"{job_id}.json", {"id": job_id, "run_dir": str(run_dir.resolve())})


def refuse_busy(run_dir: Path) -> None:
    """Raise if a job other than this process is still working in ``run_dir`` (two writers would mix)."""
    if not RunDir(run_dir).job.exists():
        return
    job = Job(run_dir)
    status = job.status()
    if status in ACTIVE and job._status_record().get("pid") != os.getpid():
        raise WorldFluxError(f"job {job.id} is still {status} in {run_dir}; cancel it first "
                             f"(worldflux jobs cancel {job.id}) or choose another run directory")


def get_job(job_id: str) -> Job:
    """The registered job ``job_id`` (see :func:`list_jobs`); a run directory's job is ``Job(run_dir)``."""
    run_dir = _registered(job_id) if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", str(job_id)) else None
    if run_dir is None:
        raise WorldFluxError(f"no job {str(job_id)!r} in {jobs_home()}. See `worldflux jobs list` for the ids.")
    return Job(run_dir)


def list_jobs() -> list[Job]:
    """Every registered job whose run directory still exists, newest first."""
    jobs = []
    for entry in sorted(jobs_home().glob("*.json")):
        run_dir = Path(json.loads(entry.read_text())["run_dir"])
        if (run_dir / "job.json").exists():
            jobs.append(Job(run_dir))
    return sorted(jobs, key=lambda j: j.info.get("created", 0), reverse=True)
