"""Environments: specs, scaling, images, and errors that come before any training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from worldflux import create_world_model
from worldflux.errors import ConfigError
from worldflux.training import Trainer, TrainingConfig, create_for_env
from worldflux.training.envs import EnvPool, env_spec

import training_helpers  # noqa: F401  (registers WorldfluxTinyPixels-v0)


def test_specs_of_vector_and_image_envs() -> None:
    pendulum = env_spec("Pendulum-v1")
    assert (pendulum.obs_shape, pendulum.action_dim, pendulum.discrete_actions, pendulum.episode_length) == (
        (3,), 1, False, 200)
    pixels = env_spec("WorldfluxTinyPixels-v0", image_size=16)
    assert (pixels.obs_shape, pixels.obs_dtype, pixels.action_dim, pixels.discrete_actions) == (
        (3, 16, 16), np.uint8, 3, True)


def test_pool_resets_on_the_step_after_an_episode_ends_and_resizes_images() -> None:
    pool = EnvPool("WorldfluxTinyPixels-v0", 2, seed=0, image_size=16)
    one_hot = np.eye(3, dtype=np.float32)[[2, 2]]
    first = pool.step(one_hot)
    assert first.is_first.all() and first.obs.shape == (2, 3, 16, 16) and first.obs.dtype == np.uint8
    steps = [pool.step(one_hot) for _ in range(5)]
    assert steps[-1].is_last.all() and not steps[-1].is_terminal.any()  # truncated at 5 steps
    assert (steps[0].obs == 80).all()  # action index 2 -> pixel value 80, resized by area averaging
    assert pool.step(one_hot).is_first.all()


def test_stacked_frames_are_the_last_ones_oldest_first_with_the_first_repeated_at_a_reset() -> None:
    pool = EnvPool("WorldfluxTinyPixels-v0", 1, seed=0, image_size=32, frames=3)
    assert pool.spec.obs_shape == (9, 32, 32)
    first = pool.step(np.zeros((1, 3), np.float32)).obs[0]
    assert np.array_equal(first[0:3], first[3:6]) and np.array_equal(first[3:6], first[6:9])
    second = pool.step(np.eye(3, dtype=np.float32)[[1]]).obs[0]  # action 1 -> every pixel 40
    assert np.array_equal(second[0:6], first[0:6]) and (second[6:9] == 40).all()
    third = pool.step(np.eye(3, dtype=np.float32)[[2]]).obs[0]
    assert np.array_equal(third[0:3], first[0:3]) and (third[3:6] == 40).all() and (third[6:9] == 80).all()
    for _ in range(3):
        pool.step(np.zeros((1, 3), np.float32))
    again = pool.step(np.zeros((1, 3), np.float32))  # the next episode starts from its own first frame, thrice
    assert again.is_first[0] and np.array_equal(again.obs[0][0:3], again.obs[0][6:9])
    assert not np.array_equal(again.obs[0][0:3], first[0:3])
    restored = EnvPool("WorldfluxTinyPixels-v0", 1, seed=0, image_size=32, frames=3)
    assert np.array_equal(restored.restore(0, 0, np.eye(3, dtype=np.float32)[[1, 2]]), third)


def test_continuous_actions_are_rescaled_to_the_env_bounds() -> None:
    pool = EnvPool("Pendulum-v1", 1, seed=0)
    assert pool.env_action(np.array([1.0])) == pytest.approx([2.0])
    assert pool.env_action(np.array([-1.0])) == pytest.approx([-2.0])
    assert pool.env_action(np.array([5.0])) == pytest.approx([2.0])


def test_episodes_are_reproducible_from_their_seeds() -> None:
    a, b = EnvPool("Pendulum-v1", 2, seed=3), EnvPool("Pendulum-v1", 2, seed=3)
    zeros = np.zeros((2, 1), np.float32)
    first_a, first_b = a.step(zeros), b.step(zeros)
    np.testing.assert_array_equal(first_a.obs, first_b.obs)
    assert not np.allclose(first_a.obs[0], first_a.obs[1])  # each stream has its own seed


def test_a_wrong_env_id_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="cannot make environment 'Pendulum-v9'.*Pendulum"):
        env_spec("Pendulum-v9")


def test_an_unsupported_observation_space_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="FrozenLake-v1 has observation space Discrete"):
        env_spec("FrozenLake-v1")


def test_a_model_that_does_not_fit_the_env_fails_before_training(tmp_path: Path) -> None:
    model = create_world_model("tdmpc2:ci", obs_shape=(5,), action_dim=2)
    with pytest.raises(ConfigError, match=r"does not fit Pendulum-v1.*shape \(5,\), the env gives \(3,\).*"
                                          r"2 action dims, the env has 1.*obs_shape=\(3,\), action_dim=1"):
        Trainer(model, TrainingConfig(env="Pendulum-v1", run_dir=str(tmp_path / "run"))).fit()
    assert not (tmp_path / "run" / "checkpoint").exists()


def test_a_continuous_only_family_refuses_discrete_actions(tmp_path: Path) -> None:
    model = create_world_model("tdmpc2:ci", obs_shape=(4,), action_dim=2)
    with pytest.raises(ConfigError, match="takes continuous actions only; CartPole-v1 has discrete actions"):
        Trainer(model, TrainingConfig(env="CartPole-v1", run_dir=str(tmp_path / "run"))).fit()


def test_create_for_env_fills_the_spec_fields_the_config_has() -> None:
    dreamer = create_for_env("dreamer:ci", "CartPole-v1")
    assert (dreamer.config.obs_shape, dreamer.config.action_dim, dreamer.config.discrete_actions) == ((4,), 2, True)
    tdmpc2 = create_for_env("tdmpc2:ci", "Pendulum-v1")
    assert (tdmpc2.config.obs_shape, tdmpc2.config.action_dim, tdmpc2.config.episode_length) == ((3,), 1, 200)
    assert not tdmpc2.config.episodic  # Pendulum only ever ends at its time limit
    assert create_for_env("tdmpc2:ci", "MountainCarContinuous-v0").config.episodic  # reaching the flag ends it
    assert not env_spec("dmc:cartpole-balance").episodic


def test_square_frames_keep_their_size_unless_image_size_is_given() -> None:
    assert env_spec("WorldfluxTinyPixels-v0").obs_shape == (3, 32, 32)
    assert env_spec("WorldfluxTinyPixels-v0", image_size=16).obs_shape == (3, 16, 16)
    assert EnvPool("WorldfluxTinyPixels-v0", 1, seed=0).step(np.eye(3, dtype=np.float32)[[0]]).obs.shape == (
        1, 3, 32, 32)


def test_evaluation_writes_its_first_episode_as_a_gif(tmp_path: Path) -> None:
    from PIL import Image

    from worldflux.training import evaluate

    model = create_for_env("tdmpc2:ci", "Pendulum-v1")
    result = evaluate(model, "Pendulum-v1", 2, seed=0, video=tmp_path / "episode.gif")
    gif = Image.open(result["video"])
    assert gif.size == (500, 500) and gif.n_frames > 100  # Pendulum's 200 steps (identical frames merge)
    with pytest.raises(ConfigError, match="ending in .gif"):
        evaluate(model, "Pendulum-v1", 1, seed=0, video=tmp_path / "episode.mp4")
