"""The ray backend on a real local Ray cluster (2 CPUs): campaigns, cancel while running and while queued."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from worldflux.backends import DelegatedHandle
from worldflux.errors import WorldFluxError
from worldflux.training import TrainingConfig, get_job, list_jobs
from worldflux.runs import Job
from worldflux_backends import ray_cluster

TINY = {"batch_size": 8, "num_samples": 16, "num_elites": 4, "num_pi_trajs": 2, "iterations": 1}
SKIP = 'ray is not installed: pip install "ray[default]"'


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    ray = pytest.importorskip("ray", reason=SKIP)
    ray.init(address="local", num_cpus=2, include_dashboard=False)  # never a cluster found on this machine
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def _jobs_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The driver's job registry, inside the test's temporary directory (the Ray workers are told of it)."""
    monkeypatch.setenv("WORLDFLUX_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _config(run_dir: Path, **changes: Any) -> TrainingConfig:
    values: dict[str, Any] = {"env": "Pendulum-v1", "steps": 80, "seed_steps": 40, "eval_every": 0,
                              "eval_episodes": 1, "log_every": 40, "checkpoint_every": 100_000,
                              "run_dir": str(run_dir)}
    return TrainingConfig(**{**values, **changes})


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_seeds_campaign_runs_as_ray_jobs_into_their_run_directories(ray_local: Any, tmp_path: Path) -> None:
    jobs = ray_cluster.submit_many("tdmpc2:ci", ["Pendulum-v1"], [0, 1], _config(tmp_path / "campaign"), **TINY)
    assert [j.id for j in jobs] == ["tdmpc2-ci-Pendulum-v1-seed0", "tdmpc2-ci-Pendulum-v1-seed1"]
    assert all(j.status() in ("queued", "starting", "running") for j in jobs)
    assert [j.wait(timeout=120) for j in jobs] == ["finished", "finished"], [j.logs(tail=20) for j in jobs]
    for job, seed in zip(jobs, [0, 1]):
        assert job.run_dir == tmp_path / "campaign" / job.id
        assert [r["step"] for r in job.metrics()] == [40, 80]
        assert "finished at env step 80" in job.logs()
        assert (job.run_dir / "checkpoint").exists()
        run = json.loads((job.run_dir / "run.json").read_text())
        assert run["training"]["seed"] == seed and run["training"]["backend"] == "native_torch"
        info = json.loads((job.run_dir / "job.json").read_text())
        assert info["kind"] == "ray" and info["host"] == socket.gethostname() and info["pid"] != os.getpid()
        assert Job(job.run_dir).status() == "finished"  # as another process sees it
    assert sorted(j.id for j in list_jobs()) == [j.id for j in jobs]  # registered in the driver's home


def test_cancel_of_a_running_ray_job_checkpoints_and_ends_its_process_group(ray_local: Any, tmp_path: Path) -> None:
    handle = DelegatedHandle(backend="ray", model_id="tdmpc2:ci", profile="ci", device="cpu",
                                   metadata={**TINY, "num_cpus": 2})
    job = ray_cluster.launch(handle, _config(tmp_path / "long", steps=100_000, backend="ray"))
    assert isinstance(job, ray_cluster.RayJob)
    deadline = time.monotonic() + 120
    while not job.metrics():  # wait until it trains
        assert job.status() in ("queued", "starting", "running") and time.monotonic() < deadline, job.logs()
        time.sleep(0.5)
    assert job.status() == "running"
    assert job.cancel(timeout=30) == "cancelled"
    assert ray_local.get(job.ref, timeout=30) == "cancelled"  # the task saw its job end and reaped it
    assert not _group_alive(job.info["pgid"])
    assert (tmp_path / "long" / "checkpoint").exists()


def test_cancel_of_a_job_on_another_node_goes_through_ray_cancel(ray_local: Any, tmp_path: Path) -> None:
    [job] = ray_cluster.submit_many("tdmpc2:ci", ["Pendulum-v1"], [0], _config(tmp_path / "far", steps=100_000),
                                    **TINY)
    deadline = time.monotonic() + 120
    while not job.metrics():
        assert job.status() in ("queued", "starting", "running") and time.monotonic() < deadline, job.logs()
        time.sleep(0.5)
    info = json.loads((job.run_dir / "job.json").read_text())
    (job.run_dir / "job.json").write_text(json.dumps({**info, "host": "another-node"}))  # as if it ran elsewhere
    assert Job(job.run_dir).status() == "running"  # its pid means nothing here: status.json is trusted
    with pytest.raises(WorldFluxError, match="runs on another-node; cancel it there"):
        Job(job.run_dir).cancel()  # a plain Job never signals a pid of another machine
    assert job.cancel(timeout=30) == "cancelled"  # ray.cancel: the task cancels its job on its node
    assert ray_local.get(job.ref, timeout=30) == "cancelled"
    assert not _group_alive(info["pgid"])
    assert (job.run_dir / "checkpoint").exists()


def test_a_queued_ray_job_is_cancelled_before_it_starts(ray_local: Any, tmp_path: Path) -> None:
    # 3 CPUs per run on a 2-CPU cluster: the task waits, queued, for resources that never come
    [job] = ray_cluster.submit_many("tdmpc2:ci", ["Pendulum-v1"], [0], _config(tmp_path / "q"), cpus_per_run=3,
                                    **TINY)
    time.sleep(1)
    assert job.status() == "queued"
    assert get_job(job.id).status() == "queued"  # from the registry, without the ObjectRef
    assert "pid" not in job.info
    assert job.cancel() == "cancelled"
    assert ray_local.wait([job.ref], timeout=10)[0]  # the Ray task is gone too
    assert Job(job.run_dir).status() == "cancelled" and not (job.run_dir / "logs.txt").exists()


def test_a_queued_job_cancelled_by_another_process_is_not_started(ray_local: Any, tmp_path: Path) -> None:
    [job] = ray_cluster.submit_many("tdmpc2:ci", ["Pendulum-v1"], [0], _config(tmp_path / "q2"), cpus_per_run=3,
                                    **TINY)
    assert Job(job.run_dir).cancel() == "cancelled"  # file-based: no pid, no ObjectRef
    assert ray_cluster.run_on_node(str(job.run_dir), None) == "cancelled"  # what the task does once scheduled
    assert not (job.run_dir / "logs.txt").exists()
    ray_local.cancel(job.ref)


def test_check_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    assert ray_cluster.check() == [ray_cluster.INSTALL_HINT]
    assert 'pip install "ray[default]"' in ray_cluster.check()[0]
