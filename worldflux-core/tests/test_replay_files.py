"""Replay rows on disk: chunks as the replay fills, the partial chunk at checkpoints, exact reload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from worldflux.errors import WorldFluxError
from worldflux.training.replay import Replay
from worldflux.training.replay_files import ReplayFiles


def _fill(replay: Replay, files: ReplayFiles, n: int, start: int = 0) -> None:
    for t in range(start, start + n):
        obs = np.full((2, 3, 4, 4), t % 256, np.uint8)
        replay.add(obs, np.full((2, 1), t, np.float32), np.full(2, t, np.float32), np.array([t % 5 == 0] * 2),
                   np.zeros(2, bool))
        files.sync(replay)


def test_chunks_are_written_as_the_replay_fills(tmp_path: Path) -> None:
    replay = Replay(16, (3, 4, 4), 1, num_envs=2, obs_dtype=np.uint8)
    files = ReplayFiles(tmp_path, chunk=8)
    _fill(replay, files, 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunk-000000.safetensors", "chunk-000001.safetensors"]
    files.sync(replay, partial=True)
    assert (tmp_path / "chunk-000002.safetensors").exists()


def test_reload_gives_the_same_rows_with_dtypes_and_truncates_to_the_checkpoint(tmp_path: Path) -> None:
    replay = Replay(16, (3, 4, 4), 1, num_envs=2, obs_dtype=np.uint8)
    files = ReplayFiles(tmp_path, chunk=8)
    _fill(replay, files, 21)
    files.sync(replay, partial=True)  # the checkpoint: 21 rows
    _fill(replay, files, 5, start=21)  # written after the checkpoint, then a crash
    files.sync(replay, partial=True)
    back = Replay(16, (3, 4, 4), 1, num_envs=2, obs_dtype=np.uint8)
    ReplayFiles(tmp_path, chunk=8).load(back, total=21)
    assert back.total == 21 and back.count == 16
    rows = back.rows(5, 21)
    assert rows["obs"].dtype == np.uint8 and rows["obs"].shape == (2, 16, 3, 4, 4)
    np.testing.assert_array_equal(rows["reward"][0], np.arange(5, 21))
    np.testing.assert_array_equal(rows["is_first"][1], np.arange(5, 21) % 5 == 0)


def test_a_missing_chunk_is_a_clear_error(tmp_path: Path) -> None:
    replay = Replay(16, (3, 4, 4), 1, num_envs=2, obs_dtype=np.uint8)
    files = ReplayFiles(tmp_path, chunk=8)
    _fill(replay, files, 16)
    (tmp_path / "chunk-000001.safetensors").unlink()
    with pytest.raises(WorldFluxError, match="chunk-000001.safetensors is missing"):
        ReplayFiles(tmp_path, chunk=8).load(Replay(16, (3, 4, 4), 1, num_envs=2, obs_dtype=np.uint8), total=16)


def test_episode_start_finds_the_latest_first_row() -> None:
    replay = Replay(8, (1,), 1, num_envs=1)
    for t in range(11):
        replay.add(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1), np.array([t in (0, 7)]), np.zeros(1, bool))
    assert replay.episode_start(0) == 7


def test_context_entries_are_written_and_read_back(tmp_path: Path) -> None:
    replay = Replay(16, (1,), 1, context={"deter": (2,)})
    files = ReplayFiles(tmp_path, chunk=4)
    for t in range(6):
        replay.add(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1), np.zeros(1, bool), np.zeros(1, bool),
                   {"deter": np.full((1, 2), t, np.float32)})
        files.sync(replay)
    files.sync(replay, partial=True)
    back = Replay(16, (1,), 1, context={"deter": (2,)})
    ReplayFiles(tmp_path, chunk=4).load(back, total=6)
    np.testing.assert_array_equal(back.rows(0, 6)["deter"][0, :, 0], np.arange(6))
    without = Replay(16, (1,), 1)
    ReplayFiles(tmp_path, chunk=4).load(without, total=6)  # extra entries on disk are ignored
    other = Replay(16, (1,), 1, context={"deter": (2,), "stoch": (1,)})
    with pytest.raises(WorldFluxError, match="chunk-000000.safetensors lacks stoch"):
        ReplayFiles(tmp_path, chunk=4).load(other, total=6)
