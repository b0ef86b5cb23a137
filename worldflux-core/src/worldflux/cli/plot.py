"""``worldflux plot``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path), help="PNG path.  [default: RUN_DIR/curve.png]")
def plot(run_dir: Path, out: Path | None) -> None:
    """Draw a run's learning curve (training and evaluation return) as a PNG."""
    from worldflux.training.plot import plot_run

    click.echo(plot_run(run_dir, out))
