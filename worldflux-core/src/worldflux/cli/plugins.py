"""``worldflux plugins``: what is installed, what each plugin registered, what failed; ``new`` starts one."""

from __future__ import annotations

from pathlib import Path

import click

from worldflux.cli.output import echo_json, echo_table
from worldflux.scaffold import new_plugin, template_values
from worldflux.state import catalog


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List plugins with distribution, version, registrations and load errors."""
    if ctx.invoked_subcommand is None:
        list_plugins(as_json)


@plugins.command("new")
@click.argument("family")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="Where to write it (default: ./worldflux-FAMILY).")
def new(family: str, directory: Path | None) -> None:
    """Write the skeleton of a new family's distribution: it installs and passes the conformance kit as written."""
    values = template_values(family)
    directory = directory or Path(values["distribution"])
    for path in new_plugin(family, directory):
        click.echo(path)
    click.echo(f"\nNext: pip install -e {directory} && pytest {directory / 'tests'}  (see {directory / 'README.md'})",
               err=True)


def list_plugins(as_json: bool) -> None:
    """The plugins table (or JSON)."""
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
