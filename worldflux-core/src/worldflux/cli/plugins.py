"""``worldflux plugins``: what is installed, what each plugin registered, what failed."""

from __future__ import annotations

import click

from worldflux.cli.output import echo_json, echo_table
from worldflux.state import catalog


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List plugins with distribution, version, registrations and load errors."""
    reports = catalog().reports
    if as_json:
        echo_json([
            {"name": r.provider.name, "distribution": r.provider.distribution, "version": r.provider.version,
             "module": r.module, "registered": r.registered, "errors": r.errors}
            for r in reports.values()
        ])
        return
    rows = []
    for r in reports.values():
        registered = "; ".join(f"{len(v)} {k}" for k, v in r.registered.items() if v) or "-"
        rows.append((r.provider.name, r.provider.distribution, r.provider.version,
                     "ok" if r.ok else "error", registered))
    echo_table(rows, ["plugin", "distribution", "version", "status", "registered"])
    for r in reports.values():
        for error in r.errors:
            click.echo(f"{r.provider.name}: {error}")
