"""How the CLI writes data: tables through tabulate, or JSON."""

from __future__ import annotations

import json
from typing import Any, Sequence

import click
from tabulate import tabulate


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def echo_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    click.echo(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))


def human_count(n: int | None) -> str:
    """``12345678`` -> ``"12.3M"``; ``None`` -> ``"-"``."""
    if n is None:
        return "-"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(n)
