"""The report of a learning-curve campaign: final return and area under the curve, native minus official.

For each task, each seed's curve gives a final return (the mean of the
records in the last ``final_fraction`` of the steps) and a normalised area
under the curve over the steps that every run of the task covers. The paired differences over seeds get a bootstrap confidence
interval and a TOST equivalence test with a stated margin; the TOST p-values
are Holm-corrected over tasks. Equivalence is claimed only where the corrected
p-value is below ``alpha``.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from worldflux.errors import WorldFluxError
from worldflux.parity.campaign import CAMPAIGN_FILE, SIDES, read_campaign
from worldflux.parity.stats import holm, normalized_auc, paired_comparison
from worldflux.runs.curves import read_curve

QUANTITIES = ("final", "auc")
METRICS = ("eval_return", "return")


def _clip(steps: np.ndarray, values: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """The curve on ``[lo, hi]``, interpolated at the two ends."""
    inside = (steps > lo) & (steps < hi)
    ends = np.interp([lo, hi], steps, values)
    return (np.concatenate([[lo], steps[inside], [hi]]) if hi > lo else np.array([lo]),
            np.concatenate([[ends[0]], values[inside], [ends[1]]]) if hi > lo else ends[:1])


def curve_summary(steps: np.ndarray, values: np.ndarray, total_steps: int, final_fraction: float,
                  span: tuple[float, float] | None = None) -> dict[str, float]:
    """A curve's final return (mean of the records from ``(1 - final_fraction) * total_steps`` on) and its
    AUC over ``span`` (default: its own steps), so that every run of a task is averaged over the same steps."""
    if not len(steps):
        raise WorldFluxError("a run has no records of the metric")
    last = values[steps >= (1 - final_fraction) * total_steps]
    lo, hi = span if span is not None else (steps[0], steps[-1])
    return {"final": float(last.mean() if len(last) else values[-1]),
            "auc": normalized_auc(*_clip(steps, values, lo, hi))}


def _margin(spec: str, official: Sequence[float]) -> float:
    """``"10%"``: a tenth of the official mean's magnitude; ``"50"``: 50 return units."""
    text = spec.strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100 * abs(float(np.mean(official)))
        return float(text)
    except ValueError:
        raise WorldFluxError(f"margin {spec!r} is neither a number (return units) nor a percentage such as "
                             f"'10%'") from None


def _pick_metric(curves: dict[tuple[str, str, int], Path]) -> str:
    for metric in METRICS:
        if all(len(read_curve(run, metric)[0]) for run in curves.values()):
            return metric
    raise WorldFluxError("the runs share neither eval_return nor return records; pass --metric")


def campaign_report(out: str | Path, *, metric: str | None = None, margin: str = "10%", alpha: float = 0.05,
                    level: float = 0.95, final_fraction: float = 0.1, seed: int = 0) -> dict[str, Any]:
    """Compute the report of the campaign in ``out`` (see the module docstring); returns it as JSON-ready data."""
    out = Path(out)
    campaign = read_campaign(out)
    runs = {(s, t, k): campaign.run_dir(out, s, t, k) for t in campaign.tasks for k in campaign.seeds for s in SIDES}
    metric = metric or _pick_metric(runs)
    curves = {key: read_curve(run, metric) for key, run in runs.items()}
    empty = [str(runs[key]) for key, (steps, _) in curves.items() if not len(steps)]
    if empty:
        raise WorldFluxError(f"no {metric} records in {', '.join(empty)}; finish those runs or pass another --metric")
    summaries: dict[tuple[str, str, int], dict[str, float]] = {}
    for task in campaign.tasks:  # the AUC of every run of a task covers the steps all of them cover
        mine = {key: curve for key, curve in curves.items() if key[1] == task}
        span = (max(s[0] for s, _ in mine.values()), min(s[-1] for s, _ in mine.values()))
        for key, (steps, values) in mine.items():
            summaries[key] = curve_summary(steps, values, campaign.steps, final_fraction, span)
    tasks: dict[str, Any] = {}
    for quantity in QUANTITIES:
        comparisons = []
        for task in campaign.tasks:
            native = [summaries[("native", task, k)][quantity] for k in campaign.seeds]
            official = [summaries[("official", task, k)][quantity] for k in campaign.seeds]
            try:
                result = paired_comparison(native, official, _margin(margin, official), alpha=alpha, level=level,
                                           seed=seed).to_dict()
            except ValueError as exc:  # one seed, or a margin of zero
                raise WorldFluxError(f"{task}, {quantity}: {exc}. A report needs two or more seeds and a positive "
                                     f"margin (an absolute --margin when the official mean is 0).") from exc
            comparisons.append(result)
            tasks.setdefault(task, {})[quantity] = result
        adjusted = holm([c["tost"]["p"] for c in comparisons])
        for task, p in zip(campaign.tasks, adjusted):
            entry = tasks[task][quantity]
            entry["p_holm"] = p
            entry["equivalent"] = bool(p < alpha)
    from worldflux import __version__

    return {"campaign": campaign.to_dict(), "metric": metric, "margin": margin, "alpha": alpha, "level": level,
            "final_fraction": final_fraction, "tasks": tasks,
            "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "worldflux_version": __version__,
            "machine": f"{platform.machine()}, {platform.system()} {platform.release()}"}


def _mean_sd(values: Sequence[float]) -> str:
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{np.mean(values):.1f} ± {sd:.1f}"


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: settings, one table per quantity, and what it does and does not show."""
    c = report["campaign"]
    lines = [f"# Parity report: `{c['preset']}`, native vs `{c['backend']}`", "",
             f"- Tasks: {', '.join(c['tasks'])}; seeds {', '.join(map(str, c['seeds']))}; {c['steps']:,} env steps "
             f"per run.",
             f"- Metric: `{report['metric']}`. Final return: mean of the records in the last "
             f"{report['final_fraction']:.0%} of the steps. AUC: area under the curve divided by its step span, over "
             f"the steps every run of the task covers.",
             f"- Shared training settings: {json.dumps(c['training'])}; model overrides: {json.dumps(c['model'])}.",
             f"- Equivalence margin: {report['margin']} (a percentage is of the official mean); TOST at "
             f"alpha {report['alpha']}, Holm-corrected over tasks; {report['level']:.0%} percentile-bootstrap "
             f"intervals of the mean paired difference (native − official).",
             f"- Generated {report['generated']} by worldflux {report['worldflux_version']} on "
             f"{report['machine']}.", ""]
    for quantity, title in (("final", "Final return"), ("auc", "Area under the curve")):
        lines += [f"## {title}", "",
                  "| task | native | official | difference | CI | margin | TOST p (Holm) | equivalent |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for task, entry in report["tasks"].items():
            e = entry[quantity]
            lines.append(f"| {task} | {_mean_sd(e['native'])} | {_mean_sd(e['official'])} | {e['mean_difference']:.1f} | "
                         f"[{e['ci_low']:.1f}, {e['ci_high']:.1f}] | ±{e['tost']['margin']:.1f} | "
                         f"{e['p_holm']:.3f} | {'yes' if e['equivalent'] else 'not shown'} |")
        lines.append("")
    lines += ["## What this shows", "",
              "A 'yes' means the mean paired difference lies inside ± the margin with the stated confidence, for "
              "these tasks, seeds, budget and settings. 'Not shown' is not evidence of a difference: with few "
              "seeds the test has little power, and the interval says how large a difference the data still "
              "allows. Learning curves cannot show that two implementations compute the same function; the "
              "fixture tests (`worldflux parity check`) do that, step by step.", ""]
    return "\n".join(lines)


def plot(report: dict[str, Any], out: str | Path, path: Path) -> None:
    """Each task's curves, native and official: the mean over seeds and each seed thinly."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    campaign = read_campaign(out)
    tasks = list(campaign.tasks)
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for side, colour in zip(SIDES, ("tab:blue", "tab:orange")):
            curves = [read_curve(campaign.run_dir(Path(out), side, task, seed), report["metric"])
                      for seed in campaign.seeds]
            for steps, values in curves:
                ax.plot(steps, values, color=colour, alpha=0.25, lw=0.8)
            grid = np.linspace(max(s[0] for s, _ in curves), min(s[-1] for s, _ in curves), 101)
            mean = np.mean([np.interp(grid, steps, values) for steps, values in curves], 0)
            label = "native" if side == "native" else f"official ({campaign.backend})"
            ax.plot(grid, mean, color=colour, lw=2, label=label + " (mean)")
        ax.set_title(task)
        ax.set_xlabel("env steps")
        ax.set_ylabel(report["metric"])
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{campaign.preset}: {len(campaign.seeds)} seeds per side")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(report: dict[str, Any], out: str | Path, dest: str | Path) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``curves.png`` into ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    paths = [dest / "report.json", dest / "report.md", dest / "curves.png"]
    paths[0].write_text(json.dumps(report, indent=2) + "\n")
    paths[1].write_text(markdown(report))
    plot(report, out, paths[2])
    return paths


__all__ = ["CAMPAIGN_FILE", "campaign_report", "markdown", "write_report"]
