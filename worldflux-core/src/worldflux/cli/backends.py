"""``worldflux backends list``."""

from __future__ import annotations

import click

from worldflux.cli.output import echo_json, echo_table


@click.group()
def backends() -> None:
    """Delegated execution backends (official implementations, clusters)."""


@backends.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(as_json: bool) -> None:
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
    echo_table([[r["name"], ", ".join(r["aliases"]) or "-", ", ".join(r["presets"]),
                 "available" if not r["missing"] else "missing: " + " | ".join(r["missing"])] for r in rows],
               ["backend", "aliases", "runs", "status on this machine"])
