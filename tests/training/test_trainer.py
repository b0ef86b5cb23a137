"""The Trainer end to end with both families: files on disk, schedules, images, options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worldflux import create_world_model
from worldflux.errors import ConfigError
from worldflux.training import Trainer, TrainingConfig
from worldflux.runs import read_metrics

from training_helpers import short_run, tiny_model


@pytest.mark.parametrize("model,env", [("tdmpc2:ci", "Pendulum-v1"), ("dreamer:ci", "CartPole-v1")])
def test_a_run_leaves_config_metrics_checkpoint_model_replay_and_curve(tmp_path: Path, model: str, env: str) -> None:
    summary = Trainer(tiny_model(model, env), short_run(tmp_path, env)).fit()
    assert summary["steps"] == 240 and summary["updates"] > 0 and "eval_return" in summary
    assert json.loads((tmp_path / "run.json").read_text())["training"]["env"] == env
    records = read_metrics(tmp_path)
    assert [r["step"] for r in records if "updates_per_s" in r] == list(range(40, 241, 40))
    assert [r["step"] for r in records if "eval_return" in r] == [120, 240]
    assert any(k.startswith("train/") for k in records[-1])
    assert (tmp_path / "checkpoint" / "state.json").exists() and (tmp_path / "curve.png").stat().st_size > 1000
    assert list((tmp_path / "replay").glob("chunk-*.safetensors"))
    reloaded = create_world_model(tmp_path / "model")
    assert reloaded.config == tiny_model(model, env).config


def test_tdmpc2_schedule_seed_steps_then_pretraining_then_one_update_per_step(tmp_path: Path) -> None:
    summary = Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), short_run(tmp_path, eval_every=0)).fit()
    assert summary["updates"] == 40 + (240 - 40)  # 40 at once when seeding ends, then one per env step


def test_dreamer_trains_on_images_with_two_envs_in_bf16(tmp_path: Path) -> None:
    model = tiny_model("dreamer:ci", "WorldfluxTinyPixels-v0", obs_shape=(3, 16, 16), cnn_mults=(2, 3))
    config = short_run(tmp_path, "WorldfluxTinyPixels-v0", steps=64, num_envs=2, image_size=16,
                       precision="bf16", train_ratio=32.0, seed_steps=0, eval_every=32, checkpoint_every=32,
                       log_every=16)
    summary = Trainer(model, config).fit()
    # updates start once the replay holds batch_size x batch_length = 32 windows of 8 + 1 steps (the lead step
    # carries the replay context): 24 steps in each of the 2 envs, env step 48; that step's share is the
    # pretraining burst (none without seeding), then train_ratio 32 / (4 x 8) = 1 update per env step
    assert summary["updates"] == int((64 - 48) * 32 / (4 * 8))
    assert summary["eval_return"] >= 0


def test_a_finished_run_directory_is_not_overwritten(tmp_path: Path) -> None:
    Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), short_run(tmp_path, steps=40, eval_every=0)).fit()
    with pytest.raises(ConfigError, match="already holds a run; continue it with --resume"):
        Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), short_run(tmp_path, steps=40)).fit()


def test_resume_extends_a_finished_run(tmp_path: Path) -> None:
    Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), short_run(tmp_path, steps=80, eval_every=0)).fit()
    summary = Trainer.resume(tmp_path, steps=120).fit()
    assert summary["steps"] == 120
    assert [r["step"] for r in read_metrics(tmp_path)] == [40, 80, 120]


def test_training_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match="TrainingConfig.precision must be one of"):
        TrainingConfig(precision="fp16")
    with pytest.raises(ConfigError, match="TrainingConfig.env is required"):
        Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), TrainingConfig()).fit()
    with pytest.raises(ConfigError, match="runs a delegated preset"):
        Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), TrainingConfig(backend="somewhere"))


def test_a_run_stopped_before_its_first_step_resumes(tmp_path: Path) -> None:
    trainer = Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), short_run(tmp_path, steps=80, eval_every=0))
    trainer.stop()
    assert trainer.fit()["stopped"] is True
    assert Trainer.resume(tmp_path).fit()["steps"] == 80


def test_a_resume_with_more_steps_is_remembered_by_the_next_resume(tmp_path: Path) -> None:
    Trainer(tiny_model("tdmpc2:ci", "Pendulum-v1"), short_run(tmp_path, steps=40, eval_every=0)).fit()
    Trainer.resume(tmp_path, steps=80).fit()
    assert json.loads((tmp_path / "run.json").read_text())["training"]["steps"] == 80
