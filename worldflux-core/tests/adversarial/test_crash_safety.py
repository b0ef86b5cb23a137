"""Crash safety with a plugin family (the toy): what a kill leaves behind is cleared or recovered on resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from worldflux import create_world_model
from worldflux.errors import ConfigError, WorldFluxError
from worldflux.runs import read_metrics
from worldflux.training import Trainer, TrainingConfig


def _config(run_dir: Path, steps: int = 48) -> TrainingConfig:
    return TrainingConfig(env="Pendulum-v1", steps=steps, eval_every=0, log_every=16, checkpoint_every=32,
                          run_dir=str(run_dir))


def _toy() -> object:
    torch.manual_seed(0)
    return create_world_model("toy:tiny", obs_shape=(3,), action_dim=1)


def test_a_run_killed_during_its_first_model_save_starts_again_on_resume(toy, tmp_path: Path) -> None:
    Trainer(_toy(), _config(tmp_path / "reference")).fit()
    killed = tmp_path / "killed"
    Trainer(_toy(), _config(killed, steps=8)).fit()  # leaves run.json as a started run writes it
    for path in [killed / "model", killed / "checkpoint"]:  # what a kill inside the first model save leaves
        for item in path.iterdir():
            item.unlink()
    (killed / "model" / ".weights.0123.tmp").write_bytes(b"partial")
    (killed / "checkpoint" / ".tensors-0123.tmp").write_bytes(b"partial")
    (killed / "metrics.jsonl").write_text(json.dumps({"step": 16, "stale": True}) + "\n")
    summary = Trainer.resume(killed, steps=48).fit()
    assert summary["steps"] == 48
    assert not list(killed.glob("**/*.tmp"))  # temporaries of the killed writes are gone
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("wall_s", "env_steps_per_s", "updates_per_s")}
                        for r in rs]  # noqa: E731
    assert strip(read_metrics(killed)) == strip(read_metrics(tmp_path / "reference"))


def test_resume_refuses_steps_that_would_go_back(toy, tmp_path: Path) -> None:
    Trainer(_toy(), _config(tmp_path)).fit()
    before = (tmp_path / "run.json").read_text()
    with pytest.raises(ConfigError, match=rf"{tmp_path} is at env step 48; --steps 16 would go back"):
        Trainer.resume(tmp_path, steps=16)
    assert (tmp_path / "run.json").read_text() == before


def test_a_run_json_without_its_training_config_is_a_clear_error(toy, tmp_path: Path) -> None:
    Trainer(_toy(), _config(tmp_path, steps=16)).fit()
    (tmp_path / "run.json").write_text(json.dumps({"model": "toy:tiny"}))
    with pytest.raises(WorldFluxError, match="lacks the model's name or the training config; the run directory "
                                             "was altered"):
        Trainer.resume(tmp_path)
