"""Jobs: ids are unique, job files are read only through the registry, and a process is known by pid and start
time, so a reused pid is never taken for the worker (nor signalled)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psutil
import pytest

from worldflux.errors import WorldFluxError
from worldflux.runs import get_job, launch, list_jobs

SLEEP = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLDFLUX_HOME", str(tmp_path / "home"))


def test_runs_with_the_same_directory_name_get_different_ids_and_cancel_only_their_own(tmp_path: Path) -> None:
    a = launch(tmp_path / "A" / "same", SLEEP, kind="test")
    b = launch(tmp_path / "B" / "same", SLEEP, kind="test")
    try:
        assert a.id == "same" and b.id.startswith("same-") and len({j.id for j in list_jobs()}) == 2
        assert get_job(b.id).run_dir == (tmp_path / "B" / "same")
        get_job(b.id).cancel(timeout=10)
        assert psutil.Process(a.info["pid"]).is_running() and get_job("same").status() in ("starting", "running")
    finally:
        a.cancel(timeout=10)
        b.cancel(timeout=10)


@pytest.mark.parametrize("ref", ["../../x", "/etc/passwd", ".hidden", "a/b", ""])
def test_a_job_is_found_only_by_its_registered_id(tmp_path: Path, ref: str) -> None:
    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "job.json").write_text(json.dumps({"id": "x", "pid": 1}))
    with pytest.raises(WorldFluxError, match=f"no job {ref!r} in .*See `worldflux jobs list`"):
        get_job(ref)


def test_a_reused_pid_is_not_the_worker_and_is_not_signalled(tmp_path: Path) -> None:
    job = launch(tmp_path / "run", SLEEP, kind="test")
    pid = job.info["pid"]
    info = {**job.info, "started": job.info["started"] - 1000.0}  # as if pid now belonged to a later process
    (tmp_path / "run" / "job.json").write_text(json.dumps(info))
    try:
        again = get_job("run")
        assert again.status() == "failed" and "exited without reporting" in again.error()
        assert again.cancel(timeout=5) == "failed"
        assert psutil.Process(pid).is_running()  # the "unrelated" process was left alone
    finally:
        job.cancel(timeout=10)
