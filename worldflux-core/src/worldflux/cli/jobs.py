"""``worldflux jobs list|status|logs|cancel``: background runs, from any process."""

from __future__ import annotations

import click

from worldflux.cli.output import echo_json, echo_table


@click.group()
def jobs() -> None:
    """Watch and control background runs (`worldflux train --detach`, Trainer.submit())."""


def _last(job) -> dict:  # type: ignore[no-untyped-def]
    records = job.metrics()
    return records[-1] if records else {}


@jobs.command("list")
def list_command() -> None:
    """Every registered job, newest first."""
    from worldflux.training import list_jobs

    rows = [[j.id, j.status(), _last(j).get("step", 0), str(j.run_dir)] for j in list_jobs()]
    echo_table(rows, ["id", "status", "step", "run_dir"])


@jobs.command("status")
@click.argument("job_id")
def status_command(job_id: str) -> None:
    """A job's status, its latest metrics record and, if it failed, why."""
    from worldflux.training import get_job

    job = get_job(job_id)
    echo_json({"id": job.id, "status": job.status(), "run_dir": str(job.run_dir), "latest": _last(job),
               "error": job.error()})


@jobs.command("logs")
@click.argument("job_id")
@click.option("--tail", type=int, default=None, help="Only the last N lines.")
def logs_command(job_id: str, tail: int | None) -> None:
    """A job's output so far."""
    from worldflux.training import get_job

    click.echo(get_job(job_id).logs(tail))


@jobs.command("cancel")
@click.argument("job_id")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Seconds to wait for the job to stop before killing its process group.")
def cancel_command(job_id: str, timeout: float) -> None:
    """Stop a job (SIGTERM, then SIGKILL of its process group after --timeout).

    A native WorldFlux run writes a checkpoint first, so `worldflux train --resume RUN_DIR` continues it.
    Jobs of the official-code backends write none on cancel (docs/backends.md says what each keeps).
    """
    from worldflux.training import get_job

    click.echo(get_job(job_id).cancel(timeout))
