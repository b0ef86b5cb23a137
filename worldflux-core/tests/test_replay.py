"""Replay: dtypes, episode boundaries, ring order, errors."""

import numpy as np
import pytest
import torch

from worldflux.training import Replay


def fill(replay, steps, episode_length, num_envs=1):
    for t in range(steps):
        first = np.full(num_envs, t % episode_length == 0)
        terminal = np.full(num_envs, t % episode_length == episode_length - 1)
        obs = np.full((num_envs, *replay.obs.shape[2:]), t % 250, replay.obs.dtype)
        replay.add(obs, np.full((num_envs, 1), t, np.float32), np.full(num_envs, float(t)), first, terminal)


def test_images_stay_uint8_and_windows_are_consecutive():
    replay = Replay(100, (3, 8, 8), 1, num_envs=2, obs_dtype=np.uint8)
    fill(replay, 60, episode_length=7, num_envs=2)
    batch = replay.sample(np.random.default_rng(0), 16, 5)
    assert batch.obs.dtype == torch.uint8 and batch.obs.shape == (16, 5, 3, 8, 8)
    assert batch.action.shape == (16, 5, 1) and batch.reward.dtype == torch.float32
    assert torch.equal(batch.reward.diff(dim=1), torch.ones(16, 4))  # consecutive steps of one stream
    assert len(replay) == 120


def test_windows_stay_inside_episodes_when_asked():
    replay = Replay(200, (2,), 1, within_episode=True)
    fill(replay, 200, episode_length=6)
    batch = replay.sample(np.random.default_rng(0), 256, 4)
    assert not batch.is_first[:, 1:].any()
    crossing = Replay(200, (2,), 1)
    fill(crossing, 200, episode_length=6)
    assert crossing.sample(np.random.default_rng(0), 256, 4).is_first[:, 1:].any()


def test_ring_overwrites_the_oldest_steps_in_order():
    replay = Replay(10, (1,), 1)
    fill(replay, 25, episode_length=100)
    batch = replay.sample(np.random.default_rng(0), 64, 10)
    assert torch.equal(batch.reward, torch.arange(15.0, 25.0).expand(64, 10))


def test_errors_say_what_is_missing():
    replay = Replay(50, (1,), 1, within_episode=True)
    fill(replay, 3, episode_length=10)
    with pytest.raises(ValueError, match="holds 3 steps per environment; a window needs 4"):
        replay.sample(np.random.default_rng(0), 2, 4)
    fill(replay, 40, episode_length=2)
    with pytest.raises(ValueError, match="no window of 4 steps fits inside an episode"):
        replay.sample(np.random.default_rng(0), 2, 4)


def test_context_entries_of_the_step_before_each_window_become_the_batch_context():
    replay = Replay(100, (2,), 1, num_envs=2, context={"deter": (3,), "stoch": (2, 2)})
    for t in range(30):
        entries = None if t < 5 else {"deter": np.full((2, 3), t, np.float32),
                                      "stoch": np.full((2, 2, 2), -t, np.float32)}
        replay.add(np.zeros((2, 2)), np.full((2, 1), t, np.float32), np.full(2, float(t)), np.zeros(2, bool),
                   np.zeros(2, bool), entries)
    batch = replay.sample(np.random.default_rng(0), 64, 4)
    assert batch.reward.shape == (64, 4)
    before = batch.reward[:, 0] - 1  # the context step is the one before the window
    assert torch.equal(batch.context["action"][:, 0], before)
    seeded = before < 5  # random seeding stored no entries: zeros, the initial state
    assert torch.equal(batch.context["deter"], torch.where(seeded, 0.0, before)[:, None].expand(-1, 3))
    assert torch.equal(batch.context["stoch"][:, 0, 0], torch.where(seeded, 0.0, -before))
    assert set(replay.rows(0, 2)) == {"obs", "action", "reward", "is_first", "is_terminal", "deter", "stoch"}


def test_a_window_with_context_needs_one_step_more():
    replay = Replay(50, (1,), 1, context={"deter": (2,)})
    fill(replay, 4, episode_length=10)
    with pytest.raises(ValueError, match="holds 4 steps per environment; a window needs 5"):
        replay.sample(np.random.default_rng(0), 2, 4)
    assert replay.sample(np.random.default_rng(0), 2, 3).context["deter"].shape == (2, 2)
