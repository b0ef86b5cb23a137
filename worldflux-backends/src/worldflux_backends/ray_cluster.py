"""The ``ray`` backend: native WorldFlux training runs on a Ray cluster, each a :class:`~worldflux.runs.Job`.

The driver (this process) builds the native model, writes the run directory
(``run.json``, ``model/``), a provisional ``job.json`` without a pid and
``status.json`` = ``queued``, registers the job in its ``$WORLDFLUX_HOME/jobs``,
and submits one Ray task per run. The task, on a Ray worker node, starts the
native worker (``python -m worldflux.training.worker RUN_DIR``) with
:func:`worldflux.runs.launch` - an ordinary process job there, in its
own process group - and waits for it. Metrics, logs, checkpoints and status
land in the run directory, so on a multi-node cluster the run directories must
be on a filesystem shared by the driver and the workers (NFS, a mounted bucket).

Addresses: ``address="ray://head:10001"`` (Ray Client, needs ``ray[client]``),
``"auto"`` or ``"head:6379"`` (a cluster this machine belongs to), else
``$RAY_ADDRESS``, else an embedded local Ray started on demand (``num_cpus``
sets its size). The embedded Ray lives as long as the driver process: keep the
driver alive until its runs end, or start ``ray start --head`` and pass its address.

Importing this module is light (no torch, no ray): ``worldflux backends list`` runs :func:`check`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from worldflux.config import evolve_config
from worldflux.errors import ConfigError
from worldflux.runs import ACTIVE, DONE, Job, write_status

if TYPE_CHECKING:
    from worldflux.backends import DelegatedHandle
    from worldflux.training.config import TrainingConfig

INSTALL_HINT = 'the ray backend needs the `ray` package: pip install "ray[default]" (add [client] for ray:// addresses)'
# create_world_model(..., backend="ray", **options): these options are the backend's, the others the model's
BACKEND_OPTIONS = ("address", "num_cpus", "cpus_per_run", "gpus_per_run")
POLL_S = 0.5
EXIT_GRACE_S = 30.0


def check() -> list[str]:
    """What this machine lacks to submit to Ray (the cluster's reachability is not probed: too slow)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return [INSTALL_HINT]
    return []


# --- on the Ray worker ------------------------------------------------------------------


def run_on_node(run_dir: str, home: str | None) -> str:
    """The Ray task: train the prepared ``run_dir`` as a process job on this node; returns its final status.

    ``home`` is the driver's ``$WORLDFLUX_HOME``: the job is registered there when this node can write it.
    A ``ray.cancel`` of this task (a KeyboardInterrupt here) cancels the job: SIGTERM, checkpoint, cancelled.
    """
    from worldflux.runs import launch as launch_job
    from worldflux.training import worker_command

    run = Path(run_dir)
    if Job(run).status() == "cancelled":  # cancelled while queued, by a process without the ObjectRef
        return "cancelled"
    if home is not None:
        try:
            (Path(home) / "jobs").mkdir(parents=True, exist_ok=True)
            os.environ["WORLDFLUX_HOME"] = home
        except OSError:
            pass  # not shared with this node: the job is registered in this node's home only
    job = launch_job(run, worker_command(run), kind="ray")
    process = job._process  # this task's child: it reaps it, else it stays a zombie in the long-lived Ray worker
    try:
        while (status := job.status()) in ACTIVE:
            time.sleep(POLL_S)  # short sleeps: ray.cancel's KeyboardInterrupt lands between them
    except KeyboardInterrupt:
        status = job.cancel()
    try:
        process.wait(timeout=EXIT_GRACE_S)  # it reported its end; let it exit
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    return status


# --- on the driver ----------------------------------------------------------------------


class RayJob(Job):
    """A :class:`Job` submitted to Ray; it also holds the task's ObjectRef.

    ``cancel()`` of a queued job cancels the Ray task; of a running one it stops the worker
    (SIGTERM to its process group: checkpoint, then cancelled) - directly when the worker runs
    on this host, through ``ray.cancel`` when it runs on another node.
    """

    def __init__(self, run_dir: str | Path, ref: Any = None) -> None:
        super().__init__(run_dir)
        self.ref = ref

    def _task_done(self) -> bool:
        import ray

        if self.ref is None or not ray.is_initialized():
            return False
        ready, _ = ray.wait([self.ref], timeout=0)
        return bool(ready)

    def _task_error(self) -> str:
        import ray

        try:
            return f"it returned {ray.get(self.ref, timeout=10)!r}"
        except Exception as exc:  # noqa: BLE001 - reported in status.json
            return f"{type(exc).__name__}: {exc}"

    def status(self) -> str:
        """queued, starting, running, finished, failed or cancelled (a Ray task that died is failed)."""
        status = super().status()
        if status in ACTIVE and self._task_done():
            status = super().status()  # the task waits for the worker, so the worker has ended too
            if status in ACTIVE:
                write_status(self.run.path, "failed", error=f"the Ray task ended while the run was {status}: "
                             f"{self._task_error()}")
                return "failed"
        return status

    def cancel(self, timeout: float = 60.0) -> str:
        """Stop the run: a queued one never starts; a running one checkpoints and ends as cancelled."""
        import ray

        if self.status() in DONE:
            return self.status()
        if "pid" in self.info and self.info.get("host") in (None, socket.gethostname()):
            return super().cancel(timeout)  # its process group is on this host
        if self.ref is None or not ray.is_initialized():
            return super().cancel(timeout)  # queued: marked cancelled, which run_on_node honours
        ray.cancel(self.ref)  # queued: dropped; running: the task cancels its job on its node
        ray.wait([self.ref], timeout=timeout + 10)
        if self._status_record()["status"] in ACTIVE and "pid" not in self._reread():
            write_status(self.run.path, "cancelled", error="cancelled before it started")
        return self.status()

    def _reread(self) -> dict[str, Any]:
        self.info = json.loads(self.run.job.read_text())
        return self.info


def _ray_init(options: Mapping[str, Any]) -> str:
    """Connect to (or start) Ray once per process; returns the address used."""
    import ray

    address = options.get("address") or os.environ.get("RAY_ADDRESS") or None
    if not ray.is_initialized():
        if address is None:
            ray.init(address="local", num_cpus=options.get("num_cpus"), include_dashboard=False,
                     ignore_reinit_error=True)
        else:
            ray.init(address=address, include_dashboard=False, ignore_reinit_error=True)
    return address or "local"


def _submit(model_id: str, options: Mapping[str, Any], config: TrainingConfig) -> Any:
    """Build ``model_id`` for ``config.env``, write its run directory and submit it as a Ray task."""
    import ray
    import torch

    from worldflux.atomic import write_json_atomic
    from worldflux.records import NATIVE_BACKEND
    from worldflux.runs import default_run_dir, new_job_id, register_job
    from worldflux.training import Trainer, create_for_env, prepare_run

    if config.env is None:
        raise ConfigError("TrainingConfig.env is required: a gymnasium id such as 'Pendulum-v1' or "
                          "'dmc:cartpole-swingup'")
    overrides = {k: v for k, v in options.items() if k not in BACKEND_OPTIONS}
    run_dir = Path(config.run_dir or default_run_dir(model_id, config.env)).resolve()  # the workers' cwd differs
    config = evolve_config(config, {"backend": NATIVE_BACKEND, "run_dir": str(run_dir)})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)  # the initial weights follow the run's seed
        model = create_for_env(model_id, config.env, image_size=config.image_size, **overrides)
    address = _ray_init(options)  # before the run directory exists: an unreachable cluster leaves none
    run = prepare_run(Trainer(model, config))
    job_id = new_job_id(run.path)
    write_status(run.path, "queued")
    write_json_atomic(run.job, {"id": job_id, "kind": "ray", "created": time.time(), "ray_address": address})
    register_job(run.path, job_id)
    gpus = options.get("gpus_per_run")
    if gpus is None:
        gpus = 1 if config.device.startswith("cuda") else 0
    task = ray.remote(run_on_node).options(
        num_cpus=options.get("cpus_per_run", 1), num_gpus=gpus,
        max_retries=0,  # a retry could start a second worker in the same run directory
        name=f"worldflux:{job_id}")
    return RayJob(run.path, task.remote(str(run.path), os.environ.get("WORLDFLUX_HOME")))


def launch(handle: DelegatedHandle, config: TrainingConfig) -> Any:
    """The backend's launcher: ``Trainer(create_world_model(name, backend="ray", ...), config).submit()``.

    ``handle.metadata`` holds the model overrides and the backend options ``address``, ``num_cpus``
    (embedded local Ray only), ``cpus_per_run`` (default 1) and ``gpus_per_run`` (default 1 for a
    cuda ``config.device``, else 0). Returns a :class:`RayJob`.
    """
    return _submit(handle.model_id, handle.metadata, config)


def submit_many(model: str, envs: list[str], seeds: list[int], config: TrainingConfig,
                **overrides: Any) -> list[Any]:
    """A seeds x tasks campaign: one run per (env, seed), each a :class:`RayJob`, in env-major order.

    Runs go to ``config.run_dir/<model>-<env>-seed<seed>`` (or ``runs/<model>-<env>-seed<seed>-<time>``);
    ``overrides`` are model overrides and backend options, as for ``create_world_model(..., backend="ray")``.
    """
    from worldflux.runs import default_run_dir, slug

    jobs = []
    for env in envs:
        for seed in seeds:
            name = slug(f"{model}-{env}-seed{seed}")
            run_dir = Path(config.run_dir) / name if config.run_dir else default_run_dir(model, f"{env}-seed{seed}")
            jobs.append(_submit(model, overrides, evolve_config(config, {"env": env, "seed": seed,
                                                                        "run_dir": str(run_dir)})))
    return jobs
