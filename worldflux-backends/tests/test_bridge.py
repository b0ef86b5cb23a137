"""The bridge that runs official implementations as jobs, exercised with a real child process."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from worldflux_backends.bridge import start_official_run

FAKE = Path(__file__).parent / "fake_official.py"


def translate(record: dict[str, Any]) -> dict[str, Any] | None:
    """The test's translator: episode scores become native ``return`` records."""
    if "episode/score" not in record:
        return None
    return {"step": record["step"], "return": record["episode/score"]}


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLDFLUX_HOME", str(tmp_path / "home"))


def _start(run_dir: Path, lines: int, sleep_s: float, code: int = 0, timeout_s: float | None = None):  # type: ignore[no-untyped-def]
    metrics = run_dir / "official" / "metrics.jsonl"
    metrics.parent.mkdir(parents=True)
    return start_official_run(
        run_dir, command=[sys.executable, str(FAKE), str(metrics), str(lines), str(sleep_s), str(code)],
        cwd=None, env={}, metrics_file=metrics, translate="test_bridge:translate", timeout_s=timeout_s,
        kind="fake_official")


@pytest.fixture(autouse=True)
def _importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bridge process imports the translator by name: put this directory on its path."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))


def test_a_finished_official_run_reports_its_translated_metrics(tmp_path: Path) -> None:
    job = _start(tmp_path / "ok", lines=3, sleep_s=0.0)
    assert job.wait(timeout=60) == "finished"
    assert job.metrics() == [{"step": 10, "return": 1.0}, {"step": 20, "return": 2.0}, {"step": 30, "return": 3.0}]
    assert "fake official run says goodbye" in job.logs()


def test_a_failing_official_run_is_failed_with_its_output_tail(tmp_path: Path) -> None:
    job = _start(tmp_path / "bad", lines=1, sleep_s=0.0, code=3)
    assert job.wait(timeout=60) == "failed"
    error = job.error()
    assert "exited with code 3" in error and "fake official run says goodbye" in error


def test_cancel_ends_the_official_child_and_keeps_what_it_wrote(tmp_path: Path) -> None:
    job = _start(tmp_path / "long", lines=1000, sleep_s=0.2)
    deadline = time.monotonic() + 60
    while not job.metrics():
        assert time.monotonic() < deadline, job.logs()
        time.sleep(0.2)
    assert job.cancel(timeout=30) == "cancelled"
    with pytest.raises(ProcessLookupError):
        os.killpg(job.info["pgid"], 0)
    assert job.metrics()[0] == {"step": 10, "return": 1.0}


def test_a_run_past_its_timeout_is_stopped_and_failed(tmp_path: Path) -> None:
    job = _start(tmp_path / "slow", lines=1000, sleep_s=0.2, timeout_s=1.0)
    assert job.wait(timeout=60) == "failed"
    assert "timed out after 1.0 s" in job.error()
