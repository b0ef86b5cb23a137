"""Runs an official implementation as a job: the child process, its metrics, its status, its end.

``start_official_run`` writes ``backend.json`` into the run directory and
launches ``python -m worldflux_backends.bridge RUN_DIR`` as a job. The bridge
starts the official command as its child (same process group, so cancelling
the job ends both), follows the official metrics file and appends each
translated record to the run's ``metrics.jsonl`` (the native schema), and
writes ``status.json``: finished, failed (with the child's output tail),
cancelled, or failed after ``timeout_s``.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from worldflux.atomic import write_json_atomic
from worldflux.lazy import load_ref
from worldflux.runs import METRICS_FILE, Job, RunDir, hold, launch, write_status

BACKEND_FILE = "backend.json"
GRACE_S = 10.0


def start_official_run(run_dir: Path, *, command: list[str], cwd: str | None, env: dict[str, str | None],
                       metrics_file: Path, translate: str, timeout_s: float | None, kind: str,
                       info: dict[str, Any] | None = None, metrics_format: str = "jsonl",
                       more_metrics: Sequence[tuple[str | Path, str]] = ()) -> Job:
    """Launch ``command`` under the bridge as job ``run_dir.name``; ``translate`` is a ``module:attr`` of
    ``f(record: dict) -> dict | None`` mapping one official metrics line to a native record (or skipping it).

    ``env`` adds variables to the child's environment; a ``None`` value removes one (e.g. our ``PYTHONPATH``).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / BACKEND_FILE, {"command": command, "cwd": cwd, "env": env,
                                               "metrics_file": str(metrics_file), "translate": translate,
                                               "metrics_format": metrics_format,
                                               "more_metrics": [[str(p), f] for p, f in more_metrics],
                                               "timeout_s": timeout_s, **(info or {})})
    return launch(run_dir, [sys.executable, "-m", "worldflux_backends.bridge", str(run_dir)], kind=kind)


FORMATS = ("jsonl", "csv", "text")


class _Follower:
    """Reads lines appended to a file that may not exist yet; keeps a partial last line for the next read.

    ``records()`` parses them as ``fmt`` says: jsonl (one JSON object a line), csv (the first line is the
    header; each row a dict of strings) or text (each line as ``{"line": text}``)."""

    def __init__(self, path: Path, fmt: str = "jsonl") -> None:
        if fmt not in FORMATS:
            raise ValueError(f"metrics format {fmt!r} is not one of {FORMATS}")
        self.path, self.offset, self.partial, self.fmt, self.header = path, 0, b"", fmt, None

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.lines():
            if self.fmt == "text":
                out.append({"line": line})
            elif self.fmt == "csv":
                row = next(csv.reader([line]))
                if self.header is None:
                    self.header = row
                elif len(row) == len(self.header):
                    out.append(dict(zip(self.header, row)))
            else:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        *complete, self.partial = (self.partial + data).split(b"\n")
        return [line.decode(errors="replace") for line in complete if line.strip()]


def _copy_metrics(followers: list[_Follower], translate: Callable[[dict[str, Any]], dict[str, Any] | None],
                  out: Path) -> None:
    records = []
    for follower in followers:
        for raw in follower.records():
            try:
                record = translate(raw)
            except (KeyError, TypeError, ValueError):
                continue
            if record is not None:
                records.append(record)
    records.sort(key=lambda r: r["step"])  # sources read in one round interleave by step
    if records:
        with out.open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)


def run(run_dir: Path) -> int:
    """The bridge process: returns its exit code after writing the final status."""
    spec = json.loads((run_dir / BACKEND_FILE).read_text())
    translate = load_ref(spec["translate"], provider="worldflux-backends")
    followers = [_Follower(Path(spec["metrics_file"]), spec.get("metrics_format", "jsonl"))]
    followers += [_Follower(Path(p), f) for p, f in spec.get("more_metrics", [])]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    write_status(run_dir, "running", pid=os.getpid())
    (run_dir / METRICS_FILE).unlink(missing_ok=True)  # rebuilt from the official log, which is read from its start
    env = {**os.environ, **{k: v for k, v in spec["env"].items() if v is not None}}
    for name in (k for k, v in spec["env"].items() if v is None):  # None unsets, e.g. our PYTHONPATH
        env.pop(name, None)
    try:
        child = subprocess.Popen(spec["command"], cwd=spec["cwd"], env=env, stdin=subprocess.DEVNULL)
    except OSError as exc:
        write_status(run_dir, "failed", error=f"could not start {spec['command'][0]}: {exc}")
        return 1
    deadline = None if spec["timeout_s"] is None else time.monotonic() + spec["timeout_s"]
    reason = None
    try:
        while child.poll() is None:
            _copy_metrics(followers, translate, run_dir / METRICS_FILE)
            if stop.wait(1.0):
                reason = "cancelled"
            elif deadline is not None and time.monotonic() > deadline:
                reason = f"timed out after {spec['timeout_s']} s"
            if reason:
                child.terminate()
                try:
                    child.wait(GRACE_S)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        _copy_metrics(followers, translate, run_dir / METRICS_FILE)
    finally:
        if child.poll() is None:  # the bridge itself failed: the official run must not go on unobserved
            child.kill()
            child.wait()
        _end_leftovers()
    if stop.is_set():  # the cancel's SIGTERM may end the child before the loop sees it
        reason = "cancelled"
    if reason == "cancelled":
        write_status(run_dir, "cancelled")
    elif reason:
        write_status(run_dir, "failed", error=reason)
    elif child.returncode:
        write_status(run_dir, "failed", error=f"{spec['command'][0]} exited with code {child.returncode}")
    else:
        write_status(run_dir, "finished")
    return 0 if reason == "cancelled" or not child.returncode else 1


def _end_leftovers() -> None:
    """SIGTERM what the official run left behind in this job's process group (the bridge ignores it)."""
    if os.getpgid(0) != os.getpid():  # not started as a job: the group is somebody else's
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)


def main(run_dir: Path) -> int:
    try:
        with hold(RunDir(run_dir)):  # the only writer of the run directory while the official code runs
            return run(run_dir)
    except BaseException as exc:  # noqa: BLE001 - any failure of the bridge must reach status.json
        traceback.print_exc()
        write_status(run_dir, "failed", error=f"the backend bridge failed: {type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
