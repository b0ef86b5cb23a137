"""The learning curve of a run as a PNG: training and evaluation return against env steps."""

from __future__ import annotations

from pathlib import Path

from worldflux.errors import WorldFluxError
from worldflux.runs import read_metrics


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw ``run_dir``'s ``metrics.jsonl`` to ``out`` (default ``run_dir/curve.png``); returns the path."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise WorldFluxError('plotting needs matplotlib: pip install "worldflux-core[plot]"') from exc
    records = read_metrics(run_dir)
    if not records:
        raise WorldFluxError(f"{run_dir} has no metrics.jsonl records to plot yet")
    curves = {label: [(r["step"], r[key]) for r in records if r.get(key) is not None]
              for key, label in (("return", "training episodes"), ("eval_return", "evaluation"))}
    if not any(curves.values()):
        raise WorldFluxError(f"{run_dir} has no finished episodes or evaluations to plot yet")
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for (label, points), style in zip(curves.items(), ("-", "o-")):
        if points:
            ax.plot(*zip(*points), style, label=label)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(Path(run_dir).resolve().name, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    path = Path(out) if out is not None else Path(run_dir) / "curve.png"
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
