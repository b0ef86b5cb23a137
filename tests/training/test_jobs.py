"""Jobs: real background processes, watched and cancelled from this and other processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from worldflux.training import Trainer, get_job, list_jobs
from worldflux.training.checkpoint import load_checkpoint

from training_helpers import short_run, tiny_model


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worldflux.cli", *args], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_submit_runs_in_the_background_and_reports_through_the_run_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    job = Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), short_run(run_dir, steps=80, eval_every=0)).submit()
    assert job.id == "run" and job.run_dir == run_dir
    assert job.status() in ("starting", "running")
    assert job.info["pid"] != os.getpid()
    assert job.wait(timeout=300) == "finished"
    assert [r["step"] for r in job.metrics()] == [40, 80]
    assert "finished at env step 80" in job.logs()
    other = get_job("run")  # through the registry, as another process would
    assert other.status() == "finished" and other.run_dir == run_dir.resolve()
    assert [j.id for j in list_jobs()] == ["run"]
    listing = _cli("jobs", "list")
    assert listing.returncode == 0 and "run" in listing.stdout and "finished" in listing.stdout
    status = json.loads(_cli("jobs", "status", "run").stdout)
    assert status["status"] == "finished" and status["latest"]["step"] == 80


def test_cancel_stops_the_whole_process_group_and_leaves_a_resumable_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / "long"
    job = Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"),
                  short_run(run_dir, steps=100_000, eval_every=0, checkpoint_every=100_000)).submit()
    deadline = time.monotonic() + 300
    while not job.metrics():  # wait until it trains
        assert job.status() in ("starting", "running") and time.monotonic() < deadline, job.logs()
        time.sleep(0.5)
    out = _cli("jobs", "cancel", job.id)  # from another process
    assert out.returncode == 0 and out.stdout.strip() == "cancelled", out.stderr
    assert job.status() == "cancelled"
    assert not _group_alive(job.info["pgid"])
    steps = load_checkpoint(run_dir / "checkpoint")["counters"]["steps"]
    assert steps >= 40
    summary = Trainer.resume(run_dir, steps=steps + 40).fit()
    assert summary["steps"] == steps + 40


def test_a_failing_run_reports_failed_with_the_reason_and_log_tail(tmp_path: Path) -> None:
    job = Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), short_run(tmp_path / "bad", "NoSuchEnv-v0")).submit()
    assert job.wait(timeout=120) == "failed"
    assert "cannot make environment 'NoSuchEnv-v0'" in job.error()
    assert "Traceback" in job.error()


def test_wait_times_out_with_a_clear_error(tmp_path: Path) -> None:
    job = Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), short_run(tmp_path / "slow", steps=100_000)).submit()
    try:
        with pytest.raises(TimeoutError, match="job slow is still"):
            job.wait(timeout=0.5)
    finally:
        job.cancel(timeout=30)
