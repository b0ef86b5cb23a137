"""Learning curves as a PNG: returns and every training metric against env steps, for one run or many.

Runs that differ only in their seed are drawn as one line, the mean over
seeds, with a 95% bootstrap band (see :func:`worldflux.runs.curves.seed_band`)
and each seed thinly; different settings get different colours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from worldflux.errors import WorldFluxError
from worldflux.runs import read_metrics
from worldflux.runs.curves import group_runs, read_curve, seed_band

RETURNS = {"eval_return": "evaluation return", "return": "training episode return"}
COLUMNS = 4


def _panels(run_dirs: Sequence[Path]) -> list[str]:
    """The metrics to draw: the returns that any run has, then every ``train/`` metric in first-seen order."""
    keys: dict[str, None] = {}
    for run_dir in run_dirs:
        for record in read_metrics(run_dir):
            keys.update(dict.fromkeys(k for k in record if k in RETURNS or k.startswith("train/")))
    return [k for k in RETURNS if k in keys] + [k for k in keys if k not in RETURNS]


def plot_runs(run_dirs: Sequence[str | Path], out: str | Path,
              groups: Mapping[str, Sequence[str | Path]] | None = None) -> Path:
    """Draw ``run_dirs`` to the PNG ``out``; returns its path.

    ``groups`` (label -> runs) says which runs are seeds of one setting; by default runs are grouped by
    their recorded settings (:func:`~worldflux.runs.curves.group_runs`).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise WorldFluxError('plotting needs matplotlib: pip install "worldflux-core[plot]"') from exc
    runs = [Path(r) for r in run_dirs]
    panels = _panels(runs)
    if not any(k in RETURNS for k in panels):
        raise WorldFluxError(f"{', '.join(map(str, runs))}: no finished episodes or evaluations to plot yet")
    groups = group_runs(runs) if groups is None else groups
    rows = math.ceil(len(panels) / COLUMNS)
    cols = min(COLUMNS, len(panels))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False, dpi=100)
    for ax, key in zip(axes.flat, panels):
        for (label, members), colour in zip(groups.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"] * 9):
            curves = [c for c in (read_curve(run, key) for run in members) if len(c[0])]
            if not curves:
                continue
            steps, mean, low, high = seed_band(curves)
            seeds = f" ({len(curves)} seeds)" if len(curves) > 1 else ""
            ax.plot(steps, mean, color=colour, lw=1.8, marker="o" if len(steps) == 1 else None,
                    label=label + seeds)
            if len(curves) > 1:
                ax.fill_between(steps, low, high, color=colour, alpha=0.2, lw=0)
                for run_steps, values in curves:
                    ax.plot(run_steps, values, color=colour, lw=0.6, alpha=0.35)
        ax.set_title(RETURNS.get(key, key), fontsize=9)
        ax.set_xlabel("env steps", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    path = Path(out)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw one run to ``out`` (default ``run_dir/curve.png``); returns the path."""
    return plot_runs([run_dir], out if out is not None else Path(run_dir) / "curve.png")
