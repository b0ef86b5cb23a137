"""dmc:domain-task:pixels: 64x64 RGB frames rendered headless, the spec the pool sees, the backend choice, errors,
and a short Trainer run."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dm_control", reason="dmc: environments need dm_control: pip install dm_control")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from worldflux.errors import ConfigError  # noqa: E402
from worldflux.training import dmc  # noqa: E402
from worldflux.training.dmc import make_dmc_env  # noqa: E402
from worldflux.training.envs import env_spec  # noqa: E402


def test_pixels_are_64x64_uint8_frames_that_change_as_the_task_moves():
    env = make_dmc_env("cartpole-swingup:pixels")
    assert env.observation_space.shape == (64, 64, 3) and env.observation_space.dtype == np.uint8
    first, info = env.reset(seed=0)
    assert first.dtype == np.uint8 and first in env.observation_space and info == {}
    assert first.std() > 10  # a rendered scene, not a blank buffer
    for _ in range(10):
        obs, reward, terminated, truncated, _ = env.step(np.ones(1, np.float32))
    assert obs.shape == (64, 64, 3) and isinstance(reward, float) and not terminated and not truncated
    assert not np.array_equal(obs, first)
    np.testing.assert_array_equal(first, make_dmc_env("cartpole-swingup:pixels").reset(seed=0)[0])
    check_env(env, skip_render_check=True)


def test_the_pool_sees_channel_first_uint8_images():
    spec = env_spec("dmc:cartpole-swingup:pixels")
    assert (spec.obs_shape, spec.obs_dtype, spec.action_dim, spec.discrete_actions, spec.episode_length) == (
        (3, 64, 64), np.uint8, 1, False, 500)


def test_the_camera_is_the_official_one():
    assert make_dmc_env("walker-walk:pixels").camera == 0
    assert make_dmc_env("quadruped-walk:pixels").camera == 2  # as DreamerV3 and TD-MPC2 render quadruped
    assert make_dmc_env("walker-walk").camera is None


def test_a_headless_backend_is_found_here():
    assert dmc.headless_gl.__wrapped__() in ("egl", "osmesa")


def test_wrong_suffixes_and_missing_gl_say_what_to_do(monkeypatch):
    with pytest.raises(ConfigError, match=r"unknown observation kind 'rgb'.*dmc:domain-task \(state vectors\) or "
                                          r"dmc:domain-task:pixels"):
        env_spec("dmc:cartpole-swingup:rgb")
    with pytest.raises(ConfigError, match=r"dmc:domain-task:pixels.*Did you mean cartpole-swingup"):
        make_dmc_env("cartpole-swingupp:pixels")
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.delitem(sys.modules, "dm_control._render", raising=False)  # as before dm_control's first import
    monkeypatch.setattr(dmc, "headless_gl", lambda: None)
    with pytest.raises(ConfigError, match="neither EGL nor OSMesa.*libegl1 libgl1 libgl1-mesa-dri libosmesa6"):
        make_dmc_env("cartpole-swingup:pixels")


def test_dreamer_trains_on_cartpole_pixels(tmp_path: Path) -> None:
    pytest.importorskip("worldflux_dreamer")
    import torch

    from worldflux.runs import read_metrics
    from worldflux.training import Trainer, TrainingConfig, create_for_env

    torch.manual_seed(0)
    env = "dmc:cartpole-swingup:pixels"
    model = create_for_env("dreamer:ci", env, batch_size=2, batch_length=8, imag_horizon=3)
    config = TrainingConfig(env=env, steps=64, seed_steps=0, train_ratio=16.0, eval_every=0, log_every=32,
                            checkpoint_every=64, run_dir=str(tmp_path))
    summary = Trainer(model, config).fit()
    assert summary["steps"] == 64 and summary["updates"] > 0
    assert any(k.startswith("train/") for k in read_metrics(tmp_path)[-1])
