"""`worldflux train`, `eval`, `plot` and `jobs` round trips, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TINY = ["--set", "batch_size=8", "--set", "num_samples=16", "--set", "num_elites=4", "--set", "num_pi_trajs=2",
        "--set", "iterations=1", "--set", "seed_steps=40", "--set", "log_every=40", "--set", "eval_every=80",
        "--set", "eval_episodes=1", "--set", "checkpoint_every=80"]


def worldflux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worldflux.cli", *args], capture_output=True, text=True,
                          timeout=600, env=os.environ.copy())


def test_train_eval_plot_and_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    out = worldflux("train", "tdmpc2-ci", "--env", "Pendulum-v1", "--steps", "80", "--out", str(run), *TINY)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)
    assert summary["steps"] == 80 and summary["run_dir"] == str(run) and "eval_return" in summary
    assert "env steps" in out.stderr  # the progress line
    evaluated = worldflux("eval", str(run), "--episodes", "2")
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert result["env"] == "Pendulum-v1" and result["episodes"] == 2 and result["eval_length"] == 200
    png = tmp_path / "curve.png"
    plotted = worldflux("plot", str(run), "--out", str(png))
    assert plotted.returncode == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    resumed = worldflux("train", "--resume", str(run), "--steps", "120")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout)["steps"] == 120
    assert "resumed" in resumed.stderr


def test_eval_of_a_saved_model_needs_an_env(tmp_path: Path) -> None:
    out = worldflux("train", "tdmpc2:ci", "--env", "Pendulum-v1", "--steps", "40", "--out", str(tmp_path / "r"),
                    *TINY)
    assert out.returncode == 0, out.stderr[-2000:]
    missing = worldflux("eval", str(tmp_path / "r" / "model"))
    assert missing.returncode == 1 and "--env is required when evaluating a saved model" in missing.stderr
    ok = worldflux("eval", str(tmp_path / "r" / "model"), "--env", "Pendulum-v1", "--episodes", "1")
    assert ok.returncode == 0 and json.loads(ok.stdout)["episodes"] == 1


def test_unknown_settings_get_suggestions_from_both_configs(tmp_path: Path) -> None:
    out = worldflux("train", "tdmpc2:ci", "--env", "Pendulum-v1", "--set", "latnt_dim=8", "--out", str(tmp_path))
    assert out.returncode == 1
    assert "neither the model config nor TrainingConfig has a field 'latnt_dim'" in out.stderr
    assert "Did you mean 'latent_dim'" in out.stderr
    out = worldflux("train", "tdmpc2:ci", "--env", "Pendulum-v1", "--set", "num_env=2", "--out", str(tmp_path))
    assert "Did you mean 'num_envs'" in out.stderr
    out = worldflux("train", "tdmpc2:ci", "--env", "Pendulum-v1", "--set", "lr=-1", "--out", str(tmp_path))
    assert out.returncode == 1 and "TDMPC2Config.lr must be a finite number > 0" in out.stderr


def test_train_needs_a_model_and_an_env() -> None:
    out = worldflux("train", "tdmpc2:ci")
    assert out.returncode == 1 and "give a MODEL and --env" in out.stderr
    out = worldflux("train", "tdmpc2:ci", "--env", "Pendulum-v9")
    assert out.returncode == 1 and "cannot make environment 'Pendulum-v9'" in out.stderr
    out = worldflux("train", "--resume", ".", "--seed", "3")
    assert out.returncode == 1 and "pass only --steps or --device with it" in out.stderr


def test_detach_then_jobs_commands(tmp_path: Path) -> None:
    run = tmp_path / "bg"
    out = worldflux("train", "tdmpc2:ci", "--env", "Pendulum-v1", "--steps", "80", "--out", str(run), "--detach",
                    *TINY)
    assert out.returncode == 0, out.stderr
    job_id, run_dir = out.stdout.strip().split("\t")
    assert job_id == "bg" and Path(run_dir) == run
    from worldflux.training import get_job

    assert get_job(job_id).wait(timeout=300) == "finished"
    logs = worldflux("jobs", "logs", job_id, "--tail", "1")
    assert logs.returncode == 0 and "finished at env step 80" in logs.stdout
    missing = worldflux("jobs", "status", "nope")
    assert missing.returncode == 1 and "no job 'nope'" in missing.stderr
