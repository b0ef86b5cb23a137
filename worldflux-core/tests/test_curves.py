"""Comparing runs: grouping seeds by setting, the mean-and-band curve, and the comparison plot's panels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from worldflux.errors import WorldFluxError
from worldflux.runs.curves import group_runs, read_curve, seed_band
from worldflux.training.plot import _panels, plot_runs


def _run(root: Path, name: str, seed: int, lr: float, returns: list[float], env: str = "Pendulum-v1") -> Path:
    path = root / name
    path.mkdir()
    training = {"env": env, "steps": 300, "seed": seed, "run_dir": str(path)}
    (path / "run.json").write_text(json.dumps({"model": "tdmpc2:ci", "training": training,
                                               "model_config": {"family": "tdmpc2", "config": {"lr": lr}}}))
    records = [{"step": 100 * (i + 1), "eval_return": r, "train/loss": 1.0 / (i + 1)} for i, r in enumerate(returns)]
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_runs_that_differ_only_in_their_seed_form_one_group_labelled_by_what_differs(tmp_path: Path) -> None:
    a0, a1 = _run(tmp_path, "a0", 0, 3e-4, [1, 2, 3]), _run(tmp_path, "a1", 1, 3e-4, [1, 2, 4])
    b0 = _run(tmp_path, "b0", 0, 1e-3, [0, 0, 0])
    c0 = _run(tmp_path, "c0", 0, 3e-4, [5, 5, 5], env="MountainCarContinuous-v0")
    groups = group_runs([a0, b0, a1, c0])
    assert groups == {"tdmpc2:ci on Pendulum-v1, lr=0.0003": [a0, a1],
                      "tdmpc2:ci on Pendulum-v1, lr=0.001": [b0],
                      "tdmpc2:ci on MountainCarContinuous-v0": [c0]}


def test_the_band_is_the_bootstrap_interval_of_the_seed_mean_on_the_steps_all_seeds_cover() -> None:
    curves = [(np.array([0.0, 10.0, 20.0]), np.array([0.0, 10.0, 20.0])),
              (np.array([0.0, 10.0]), np.array([2.0, 12.0]))]
    steps, mean, low, high = seed_band(curves, points=3)
    assert steps.tolist() == [0.0, 5.0, 10.0]  # the shorter seed ends at 10
    assert mean.tolist() == [1.0, 6.0, 11.0]
    assert low.tolist() == [0.0, 5.0, 10.0] and high.tolist() == [2.0, 7.0, 12.0]  # all resamples of 2 seeds
    one = seed_band(curves[:1], points=3)
    assert one[1].tolist() == one[2].tolist() == one[3].tolist() == [0.0, 10.0, 20.0]


def test_plot_draws_return_and_training_metric_panels_for_several_runs(tmp_path: Path) -> None:
    runs = [_run(tmp_path, f"a{i}", i, 3e-4, [1, 2, 3 + i]) for i in range(3)]
    assert _panels(runs) == ["eval_return", "train/loss"]
    out = plot_runs(runs, tmp_path / "cmp.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert read_curve(runs[2], "eval_return")[1].tolist() == [1.0, 2.0, 5.0]


def test_plotting_a_run_without_returns_or_run_file_says_what_is_missing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WorldFluxError, match="no finished episodes or evaluations"):
        plot_runs([empty], tmp_path / "x.png")
    run = _run(tmp_path, "r", 0, 3e-4, [1])
    (run / "run.json").unlink()
    with pytest.raises(WorldFluxError, match="not a worldflux run directory"):
        plot_runs([run], tmp_path / "y.png")


def test_given_groups_override_the_recorded_settings(tmp_path: Path) -> None:
    a, b = _run(tmp_path, "a", 0, 3e-4, [1, 2]), _run(tmp_path, "b", 1, 1e-3, [2, 3])
    assert len(group_runs([a, b])) == 2
    assert plot_runs([a, b], tmp_path / "one.png", groups={"both": [a, b]}).exists()
