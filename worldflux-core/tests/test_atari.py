"""atari: ids: parsing, spaces, frame skip and pooling against the raw emulator, sticky actions, seeding,
episode ends, errors, and a short Trainer run."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ale_py", reason='atari: environments need ale-py: pip install "worldflux-core[atari]"')

import ale_py  # noqa: E402
import ale_py.roms  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402
from PIL import Image  # noqa: E402

from worldflux.errors import ConfigError  # noqa: E402
from worldflux.training.atari import GRAY_WEIGHTS, make_atari_env  # noqa: E402
from worldflux.training.envs import env_spec  # noqa: E402

PONG_ACTIONS = np.random.default_rng(0).integers(0, 18, 150)  # 600 frames: Pong scores its first points


def rollout(env, seed, actions):
    obs = [env.reset(seed=seed)[0]]
    steps = [env.step(a) for a in actions]
    return np.stack(obs + [s[0] for s in steps]), np.array([s[1] for s in steps])


def test_atari_ids_give_the_official_spaces():
    spec = env_spec("atari:pong")  # the official 96 x 96 gray frames, channel first
    assert (spec.obs_shape, spec.obs_dtype, spec.action_dim, spec.discrete_actions) == ((1, 96, 96), np.uint8, 18,
                                                                                        True)
    assert env_spec("atari:pong", image_size=64).obs_shape == (1, 64, 64)
    assert spec.episode_length == 108_000 // 4
    env = make_atari_env("space_invaders")
    assert env.observation_space.shape == (96, 96, 1) and env.observation_space.dtype == np.uint8
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.uint8 and obs in env.observation_space and info == {"lives": 3}
    obs, reward, terminated, truncated, _ = env.step(1)
    assert obs in env.observation_space and isinstance(reward, float) and not terminated and not truncated
    assert make_atari_env("pong", gray=False).reset(seed=0)[0].shape == (96, 96, 3)
    check_env(env, skip_render_check=True)


def test_a_step_plays_four_frames_and_pools_the_last_two():
    env = make_atari_env("pong", sticky=False, noops=0, gray=False, size=(210, 160))  # no resize: raw pooling
    raw = ale_py.ALEInterface()
    raw.setFloat("repeat_action_probability", 0.0)
    raw.loadROM(str(ale_py.roms.get_rom_path("pong")))
    actions = raw.getLegalActionSet()
    np.testing.assert_array_equal(env.reset(seed=0)[0], raw.getScreenRGB())
    pooled_differs = 0
    for action in PONG_ACTIONS:
        rewards, frames = [], []
        for _ in range(4):
            rewards.append(raw.act(actions[action]))
            frames.append(raw.getScreenRGB())
        obs, reward, *_ = env.step(action)
        np.testing.assert_array_equal(obs, np.maximum(frames[-2], frames[-1]))
        assert reward == sum(rewards)
        pooled_differs += not np.array_equal(obs, frames[-1])
    assert pooled_differs > 0  # the ball moved between the last two frames


def test_frames_are_resized_with_pillow_then_made_gray():
    full = make_atari_env("pong", sticky=False, noops=0, gray=False, size=(210, 160))
    small = make_atari_env("pong", sticky=False, noops=0)
    full.reset(seed=0)
    small.reset(seed=0)
    for action in PONG_ACTIONS[:40]:
        pooled, obs = full.step(action)[0], small.step(action)[0]
    resized = np.asarray(Image.fromarray(pooled).resize((96, 96), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(obs[..., 0], (resized @ GRAY_WEIGHTS).astype(np.uint8))


def test_sticky_actions_follow_the_seed():
    sticky = make_atari_env("pong", noops=0)
    first, rewards = rollout(sticky, 1, PONG_ACTIONS)
    again, same_rewards = rollout(make_atari_env("pong", noops=0), 1, PONG_ACTIONS)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(rewards, same_rewards)
    assert not np.array_equal(first, rollout(sticky, 2, PONG_ACTIONS)[0])  # the repeats fall elsewhere
    np.testing.assert_array_equal(first, rollout(sticky, 1, PONG_ACTIONS)[0])  # as a resumed run replays it
    plain = make_atari_env("pong", noops=0, sticky=False)
    np.testing.assert_array_equal(rollout(plain, 1, PONG_ACTIONS)[0], rollout(plain, 2, PONG_ACTIONS)[0])


def test_seeded_resets_start_alike_and_noops_vary_the_start():
    env = make_atari_env("seaquest")  # its screen changes from the first frame, so no-ops show
    starts = [make_atari_env("seaquest").reset(seed=3)[0], env.reset(seed=3)[0], env.reset(seed=3)[0]]
    assert all(np.array_equal(starts[0], s) for s in starts)
    assert len({env.reset(seed=seed)[0].tobytes() for seed in range(4)}) > 1
    assert not np.array_equal(make_atari_env("seaquest", noops=0).reset(seed=3)[0], starts[0])


def test_losing_a_life_goes_on_and_game_over_terminates():
    env = make_atari_env("breakout", sticky=False, noops=0)
    assert env.reset(seed=0)[1]["lives"] == 5
    lives = []
    for _ in range(1000):
        _, _, terminated, truncated, info = env.step(1)  # FIRE launches each ball, which then falls
        lives.append(info["lives"])
        if terminated or truncated:
            break
    assert terminated and not truncated and lives[-1] == 0
    assert sorted(set(lives)) == [0, 1, 2, 3, 4, 5]


def test_the_time_limit_counts_frames_and_truncates():
    env = make_atari_env("pong", noops=0, max_frames=10)
    assert env.episode_length == 3  # 4 + 4 + 2 frames
    env.reset(seed=0)
    ends = [env.step(0)[2:4] for _ in range(3)]
    assert ends == [(False, False), (False, False), (False, True)]


def test_wrong_games_and_settings_say_what_to_do(monkeypatch):
    with pytest.raises(ConfigError, match=r"unknown Atari game 'Pong'.*Did you mean atari:pong\? List every name "
                                          r"with: python -c .*get_all_rom_ids"):
        env_spec("atari:Pong")
    with pytest.raises(ConfigError, match="Did you mean atari:space_invaders"):
        make_atari_env("spaceinvaders")
    with pytest.raises(ConfigError, match="repeat >= 1"):
        make_atari_env("pong", repeat=0)
    monkeypatch.setitem(sys.modules, "ale_py", None)
    with pytest.raises(ConfigError, match=r"pip install \"worldflux-core\[atari\]\""):
        make_atari_env("pong")


def test_dreamer_trains_on_pong(tmp_path: Path) -> None:
    pytest.importorskip("worldflux_dreamer")
    import torch

    from worldflux.runs import read_metrics
    from worldflux.training import Trainer, TrainingConfig, create_for_env

    torch.manual_seed(0)
    model = create_for_env("dreamer:ci", "atari:pong", batch_size=2, batch_length=8, imag_horizon=3)
    config = TrainingConfig(env="atari:pong", steps=64, seed_steps=0, train_ratio=16.0, eval_every=0,
                            log_every=32, checkpoint_every=64, run_dir=str(tmp_path))
    summary = Trainer(model, config).fit()
    assert summary["steps"] == 64 and summary["updates"] > 0
    assert any(k.startswith("train/") for k in read_metrics(tmp_path)[-1])
