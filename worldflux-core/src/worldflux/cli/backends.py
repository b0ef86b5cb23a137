"""``worldflux backends list``."""

from __future__ import annotations

import shutil
import textwrap

import click

from worldflux.cli.output import echo_json, echo_table


@click.group()
def backends() -> None:
    """Delegated execution backends (official implementations, clusters)."""


@backends.command("list")
@click.option("-v", "--verbose", is_flag=True, help="Below the table: aliases, provider and what each backend lacks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(verbose: bool, as_json: bool) -> None:
    """Each installed backend, what it runs, and whether this machine can run it (or what is missing)."""
    from worldflux.backends import backend_status
    from worldflux.state import catalog

    cat = catalog()
    rows = []
    for name, record in sorted(cat.backends.items()):
        missing = backend_status(record)
        aliases = sorted(a for a, target in cat.backend_aliases.items() if target == name)
        rows.append({"name": name, "aliases": aliases, "presets": list(record.presets),
                     "status": "available" if not missing else "unavailable", "missing": missing,
                     "provider": str(record.provider), "description": record.description})
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo('No delegated backends installed: pip install "worldflux[backends]"')
        return
    width = shutil.get_terminal_size().columns
    echo_table([[r["name"], "\n".join(textwrap.wrap(", ".join(r["presets"]), 22)),  # 80 columns in all
                 "yes" if not r["missing"] else f"no: {len(r['missing'])} missing"] for r in rows],
               ["backend", "runs", "available here"])
    if not verbose:
        if any(r["missing"] for r in rows):
            click.echo("\nWhat each unavailable backend lacks: worldflux backends list --verbose")
        return
    for r in rows:
        click.echo(f"\n{r['name']}")
        about = f"{r['description']} Provided by {r['provider']}; aliases: {', '.join(r['aliases']) or 'none'}."
        click.echo(textwrap.fill(about, width, initial_indent="  ", subsequent_indent="  "))
        for item in r["missing"]:
            click.echo(textwrap.fill(item, width, initial_indent="  - missing: ", subsequent_indent="    "))
