"""Core's Trainer with a plugin family: the toy registers its agent beside its builder, as families do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from worldflux import create_world_model
from worldflux.errors import ConfigError, WorldFluxError
from worldflux.runs import read_metrics
from worldflux.training import Trainer, TrainingConfig


def _run(run_dir: Path, steps: int) -> TrainingConfig:
    return TrainingConfig(env="Pendulum-v1", steps=steps, eval_every=32, eval_episodes=1, log_every=16,
                          checkpoint_every=32, run_dir=str(run_dir))


def _toy() -> object:
    torch.manual_seed(0)
    return create_world_model("toy:tiny", obs_shape=(3,), action_dim=1)


def _wall_free(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("wall_s", "env_steps_per_s", "updates_per_s")} for r in records]


def test_the_trainer_finds_the_agent_through_the_catalog_and_writes_the_run(toy, tmp_path: Path) -> None:
    summary = Trainer(_toy(), _run(tmp_path, 64)).fit()
    assert summary["steps"] == 64 and summary["updates"] == 8 + 56  # seeding burst, then one per env step
    assert json.loads((tmp_path / "run.json").read_text())["model"] == "toy:tiny"
    assert [r["step"] for r in read_metrics(tmp_path)] == [16, 32, 48, 64]
    assert {"train/consistency", "train/loss"} <= set(read_metrics(tmp_path)[-1])
    assert (tmp_path / "checkpoint" / "state.json").exists()
    assert create_world_model(tmp_path / "model").config == _toy().config


def test_a_resumed_run_ends_exactly_where_an_uninterrupted_one_does(toy, tmp_path: Path) -> None:
    Trainer(_toy(), _run(tmp_path / "whole", 64)).fit()
    Trainer(_toy(), _run(tmp_path / "parts", 32)).fit()
    Trainer.resume(tmp_path / "parts", steps=64).fit()
    whole = create_world_model(tmp_path / "whole" / "model").state_dict()
    parts = create_world_model(tmp_path / "parts" / "model").state_dict()
    assert all(torch.equal(whole[k], parts[k]) for k in whole)
    assert _wall_free(read_metrics(tmp_path / "whole")) == _wall_free(read_metrics(tmp_path / "parts"))


def test_a_preset_whose_family_registers_no_agent_is_refused(toy, tmp_path: Path) -> None:
    model = create_world_model("toy:draft", obs_shape=(3,), action_dim=1)
    with pytest.raises(ConfigError, match=r"ToyModel \(toy\) cannot be trained by the Trainer: its family "
                                          r"registers no agent"):
        Trainer(model, _run(tmp_path, 16)).fit()


def test_a_second_writer_of_a_run_directory_is_refused_and_the_first_keeps_it(toy, tmp_path: Path) -> None:
    from worldflux.runs import RunDir, hold

    with hold(RunDir(tmp_path)):  # another process (or Trainer) writing this directory
        with pytest.raises(WorldFluxError, match=f"another process is writing {tmp_path} \\(it holds "
                                                 f"{tmp_path / '.lock'}\\)"):
            Trainer(_toy(), _run(tmp_path, 16)).fit()
    assert not (tmp_path / "run.json").exists()
    assert Trainer(_toy(), _run(tmp_path, 16)).fit()["steps"] == 16  # free again once the holder is done


def test_metrics_are_mirrored_to_tensorboard_scalars_at_their_env_steps(toy, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    Trainer(_toy(), _run(tmp_path, 32)).fit()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert {"train/loss", "eval_return", "updates"} <= set(events.Tags()["scalars"])
    records = read_metrics(tmp_path)
    assert [e.step for e in events.Scalars("train/loss")] == [r["step"] for r in records if "train/loss" in r]
    assert [e.value for e in events.Scalars("eval_return")] == pytest.approx(
        [r["eval_return"] for r in records if "eval_return" in r])
