"""Bad input: wrong values, names and paths give a worldflux error that says what is wrong, before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from worldflux import create_world_model
from worldflux.cli import main
from worldflux.errors import ConfigError, UnknownModelError, WorldFluxError
from worldflux.training import Trainer, TrainingConfig


@pytest.mark.parametrize("model", [None, 3, "", "   "])
def test_a_model_that_is_neither_a_name_nor_a_path_is_refused(toy, model: object) -> None:
    with pytest.raises(ConfigError, match="model must be a preset name .* an alias or a saved model's directory"):
        create_world_model(model)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -1.0, 0.0])
def test_a_learning_rate_must_be_a_finite_positive_number(toy, value: float) -> None:
    with pytest.raises(ConfigError, match="ToyConfig.learning_rate must be a finite number > 0"):
        create_world_model("toy:tiny", learning_rate=value)


def test_listing_an_unknown_family_is_an_error_naming_the_installed_ones(toy) -> None:
    result = CliRunner().invoke(main, ["models", "list", "--family", "nosuch"])
    assert result.exit_code == 1 and "No installed family 'nosuch'; installed: toy" in result.output


@pytest.mark.parametrize("episodes", ["0", "-2"])
def test_evaluating_no_episodes_is_refused(toy, episodes: str) -> None:
    result = CliRunner().invoke(main, ["eval", "toy:tiny", "--episodes", episodes])
    assert result.exit_code == 2 and "is not in the range x>=1" in result.output


def test_a_run_directory_that_is_a_file_is_refused(toy, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    config = TrainingConfig(env="Pendulum-v1", steps=8, run_dir=str(tmp_path / "file"))
    with pytest.raises(WorldFluxError, match=f"{tmp_path / 'file'} is a file, not a run directory"):
        Trainer(create_world_model("toy:tiny", obs_shape=(3,), action_dim=1), config).fit()


def test_a_run_directory_that_cannot_be_created_is_refused(toy, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    config = TrainingConfig(env="Pendulum-v1", steps=8, run_dir=str(tmp_path / "file" / "run"))
    with pytest.raises(WorldFluxError, match="cannot use .* as a run directory: Not a directory"):
        Trainer(create_world_model("toy:tiny", obs_shape=(3,), action_dim=1), config).fit()


def test_an_unknown_model_name_is_an_unknown_model_error(toy) -> None:
    with pytest.raises(UnknownModelError):
        create_world_model("toy:nosuch")


def test_a_directory_named_like_a_preset_does_not_shadow_the_preset(toy, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "toy:tiny").mkdir()  # not a saved model: no config.json
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["train", "toy:tiny", "--env", "Pendulum-v1", "--steps", "8",
                                       "--set", "latent_dim=4", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run" / "run.json").read_text())["model_config"]["config"]["latent_dim"] == 4
