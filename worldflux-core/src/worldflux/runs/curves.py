"""Curves of finished or running runs: one metric against env steps, and runs grouped into seeds of one setting."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from worldflux.errors import WorldFluxError
from worldflux.runs.metrics import METRICS_FILE, read_metrics
from worldflux.runs.rundir import RunDir

SEED_KEYS = ("seed", "run_dir")  # what may differ between the seeds of one setting


def read_curve(run_dir: str | Path, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, values)`` of ``metric`` in a run's ``metrics.jsonl``, in step order."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        raise WorldFluxError(f"{path} is missing: the run has not started or its directory is incomplete. "
                             f"Run it again to finish it.")
    points = []
    for record in read_metrics(run_dir):
        value = record.get(metric) if isinstance(record, dict) else None
        if isinstance(value, (int, float)) and math.isfinite(value) and isinstance(record.get("step"), int):
            points.append((record["step"], float(value)))
    steps = np.array(sorted({s for s, _ in points}), float)
    values = np.array([np.mean([v for s, v in points if s == step]) for step in steps], float)
    return steps, values  # records sharing a step (several episodes ending together) are averaged


def _setting(run: dict[str, Any]) -> dict[str, Any]:
    """Everything that defines a run's setting: model, env, model config and training config but the seed."""
    training = {k: v for k, v in run.get("training", {}).items() if k not in SEED_KEYS}
    return {"model": run.get("model"), "training": training, "model_config": run.get("model_config")}


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): json.dumps(tree)}


def group_runs(run_dirs: Sequence[str | Path]) -> dict[str, list[Path]]:
    """The runs grouped by setting (runs that differ only in their seed form one group), in first-seen order.

    A group is labelled ``model on env``, followed by the settings that tell it apart from groups with
    the same model and env (e.g. ``lr=0.0003``).
    """
    settings: list[tuple[dict[str, Any], list[Path]]] = []
    for run_dir in run_dirs:
        setting = _setting(RunDir(run_dir).read())
        for known, members in settings:
            if known == setting:
                members.append(Path(run_dir))
                break
        else:
            settings.append((setting, [Path(run_dir)]))
    groups: dict[str, list[Path]] = {}
    for setting, members in settings:
        label = f"{setting['model']} on {setting['training'].get('env')}"
        rivals = [_flat(s) for s, _ in settings if s is not setting and s["model"] == setting["model"]
                  and s["training"].get("env") == setting["training"].get("env")]
        mine = _flat(setting)
        differing = sorted(k for k in mine if any(r.get(k) != mine[k] for r in rivals))
        if differing:
            label += ", " + ", ".join(f"{k.split('.')[-1]}={mine[k]}" for k in differing)
        groups[label] = members
    return groups


def seed_band(curves: Sequence[tuple[np.ndarray, np.ndarray]], points: int = 101, level: float = 0.95,
              resamples: int = 2_000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(steps, mean, low, high)`` over the seeds' ``curves`` on the steps all of them cover.

    The band is a percentile bootstrap interval of the mean over seeds at ``level`` (seeded, so a plot is
    reproducible); with one seed it is the curve itself.
    """
    start, end = max(s[0] for s, _ in curves), min(s[-1] for s, _ in curves)
    grid = np.linspace(start, end, points) if end > start else np.array([start])
    values = np.array([np.interp(grid, steps, v) for steps, v in curves])
    mean = values.mean(0)
    if len(curves) == 1:
        return grid, mean, mean, mean
    picks = np.random.default_rng(0).integers(0, len(curves), (resamples, len(curves)))
    means = values[picks].mean(1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return grid, mean, low, high
