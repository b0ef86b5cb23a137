"""make_dmc_env: spaces, seeded determinism, action repeat, episode ends, aliases, errors."""

import sys

import numpy as np
import pytest

pytest.importorskip("dm_control", reason="dmc: environments need dm_control: pip install dm_control")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from worldflux.errors import ConfigError  # noqa: E402
from worldflux.training.dmc import make_dmc_env  # noqa: E402


def rollout(env, seed, actions):
    obs = [env.reset(seed=seed)[0]]
    return np.stack(obs + [env.step(a)[0] for a in actions])


@pytest.mark.filterwarnings("ignore:.*infinity:UserWarning")  # unbounded observations, as in gymnasium's MuJoCo envs
def test_spaces_and_dtypes():
    env = make_dmc_env("cartpole-swingup")
    assert env.observation_space.shape == (5,) and env.observation_space.dtype == np.float32  # position 3 + velocity 2
    assert env.action_space.shape == (1,) and env.action_space.dtype == np.float32
    assert env.action_space.low.tolist() == [-1.0] and env.action_space.high.tolist() == [1.0]
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs in env.observation_space and info == {}
    obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
    assert obs.shape == (5,) and isinstance(reward, float) and not terminated and not truncated
    assert env.episode_length == 500
    check_env(env, skip_render_check=True)


def test_nested_observations_are_flattened():
    env = make_dmc_env("stacker-stack_2")  # arm_pos (8, 2), box_pos (2, 4) among flat entries
    assert env.reset(seed=0)[0].shape == env.observation_space.shape == (49,)


def test_seeded_reset_is_deterministic_and_unseeded_reset_continues_the_stream():
    env = make_dmc_env("cartpole-swingup")
    actions = np.random.default_rng(0).uniform(-1, 1, (20, 1)).astype(np.float32)
    first = rollout(env, 7, actions)
    np.testing.assert_array_equal(first, rollout(env, 7, actions))
    np.testing.assert_array_equal(first, rollout(make_dmc_env("cartpole-swingup"), 7, actions))
    assert not np.array_equal(first, rollout(env, 8, actions))
    env.reset(seed=7)
    continued = env.reset()[0]
    env.reset(seed=7)
    np.testing.assert_array_equal(continued, env.reset()[0])
    assert not np.array_equal(continued, first[0])


def test_action_repeat_sums_rewards_and_time_limit_truncates():
    once, twice = make_dmc_env("cartpole-balance", action_repeat=1), make_dmc_env("cartpole-balance")
    assert (once.episode_length, twice.episode_length) == (1000, 500)
    once.reset(seed=3)
    twice.reset(seed=3)
    action = np.array([0.3], np.float32)
    for _ in range(5):
        obs, reward, *_ = twice.step(action)
        first, second = once.step(action), once.step(action)
        assert reward == pytest.approx(first[1] + second[1]) and 1.0 < reward <= 2.0
        np.testing.assert_array_equal(obs, second[0])
    for t in range(5, twice.episode_length):
        _, _, terminated, truncated, _ = twice.step(action)
        assert not terminated and truncated == (t == twice.episode_length - 1)


def test_episode_length_from_time_limit_and_control_timestep():
    assert make_dmc_env("walker-walk").episode_length == 500  # 25 s at 0.025 s per control step
    assert make_dmc_env("lqr-lqr_2_1").episode_length == 500  # no time limit in dm_control: 1000 control steps
    assert make_dmc_env("cartpole-balance", action_repeat=3).episode_length == 334  # 333 steps of 3, one of 1


def test_discount_zero_ends_terminated(monkeypatch):
    repeated = make_dmc_env("cartpole-swingup", action_repeat=4)
    single = make_dmc_env("cartpole-swingup", action_repeat=1)
    monkeypatch.setattr("dm_control.suite.cartpole.Balance.get_termination", lambda self, physics: 0.0)
    repeated.reset(seed=0)
    single.reset(seed=0)
    obs, reward, terminated, truncated, _ = repeated.step(np.zeros(1, np.float32))
    assert terminated and not truncated
    one_obs, one_reward, *_ = single.step(np.zeros(1, np.float32))  # stopped after one control step
    np.testing.assert_array_equal(obs, one_obs)
    assert reward == one_reward


def test_domain_and_task_names():
    np.testing.assert_array_equal(make_dmc_env("cup-catch").reset(seed=1)[0],
                                  make_dmc_env("ball_in_cup-catch").reset(seed=1)[0])
    assert make_dmc_env("point_mass-easy").action_space.shape == (2,)
    assert make_dmc_env("finger-turn_hard").observation_space.shape == (12,)


def test_unknown_task_suggests_close_matches():
    with pytest.raises(ConfigError, match="Did you mean cartpole-swingup"):
        make_dmc_env("cartpole-swingupp")
    with pytest.raises(ConfigError, match="Known tasks: acrobot-swingup"):
        make_dmc_env("nope")
    with pytest.raises(ConfigError, match="action_repeat"):
        make_dmc_env("cartpole-swingup", action_repeat=0)


def test_missing_dm_control_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dm_control", None)
    with pytest.raises(ConfigError, match="pip install dm_control"):
        make_dmc_env("cartpole-swingup")
