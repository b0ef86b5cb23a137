"""``worldflux plot``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="PNG path.  [default: RUN_DIR/curve.png for one run, curves.png for several]")
def plot(run_dirs: tuple[Path, ...], out: Path | None) -> None:
    """Draw runs' learning curves and training metrics as a PNG.

    Runs that differ only in their seed are drawn as their mean with a 95% bootstrap band, e.g.
    `worldflux plot runs/a-seed0 runs/a-seed1 runs/b-seed0 runs/b-seed1 --out a-vs-b.png`.
    """
    from worldflux.training.plot import plot_run, plot_runs

    if len(run_dirs) == 1:
        click.echo(plot_run(run_dirs[0], out))
    else:
        click.echo(plot_runs(run_dirs, out or Path("curves.png")))
