"""The ``worldflux`` command line: data on stdout, warnings on stderr, click's exit codes."""

from __future__ import annotations

import click

from worldflux import __version__
from worldflux.cli.backends import backends
from worldflux.cli.convert import convert, export
from worldflux.cli.jobs import jobs
from worldflux.cli.models import models
from worldflux.cli.parity import parity
from worldflux.cli.plot import plot
from worldflux.cli.plugins import plugins
from worldflux.cli.train import eval_command, train
from worldflux.errors import WorldFluxError
from worldflux.log import log_to_stderr


class _Group(click.Group):
    """Turns worldflux errors into a one-line message and exit code 1 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except WorldFluxError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="worldflux")
def main() -> None:
    """WorldFlux: reinforcement-learning world models behind one API."""
    log_to_stderr()


for command in (models, plugins, train, eval_command, plot, jobs, backends, convert, export, parity):
    main.add_command(command)
