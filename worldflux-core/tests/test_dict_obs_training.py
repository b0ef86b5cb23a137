"""Dict observations (an image plus vectors) end to end: spec, replay, Trainer, resume, and families that refuse."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import safetensors.numpy
import torch

from worldflux import create_world_model
from worldflux.errors import ConfigError
from worldflux.runs import read_metrics
from worldflux.training import Replay, Trainer, TrainingConfig, create_for_env
from worldflux.training.envs import env_spec, inspect
from worldflux.training.replay_files import ReplayFiles

TOY = Path(__file__).parent / "toy"
PARTS = {"image": (3, 16, 16), "position": (2,), "velocity": (1,)}


@pytest.fixture
def dict_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """The gymnasium id of the toy env with dict observations (registered on import)."""
    monkeypatch.syspath_prepend(str(TOY))
    from worldflux_toy.envs import DICT_ENV

    return DICT_ENV


def _dreamer(env: str) -> object:
    torch.manual_seed(0)
    return create_for_env("dreamer:ci", env, image_size=16, cnn_mults=(2, 3), batch_size=4, batch_length=8,
                          imag_horizon=3)


def _run(run_dir: Path, env: str, steps: int) -> TrainingConfig:
    return TrainingConfig(env=env, steps=steps, image_size=16, train_ratio=16.0, eval_every=48, eval_episodes=1,
                          log_every=16, checkpoint_every=48, run_dir=str(run_dir))


def _wall_free(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("wall_s", "env_steps_per_s", "updates_per_s")} for r in records]


def test_the_spec_names_each_part_and_the_model_is_built_for_them(dict_env: str) -> None:
    spec = env_spec(dict_env, image_size=16)
    assert spec.obs_space == PARTS and spec.obs_shape == (3, 16, 16)
    config = _dreamer(dict_env).config
    assert config.obs_space == PARTS and config.obs_shape == (3, 16, 16) and config.discrete_actions


def test_dreamer_trains_on_dict_observations_and_a_resumed_run_ends_where_a_whole_one_does(
        dict_env: str, tmp_path: Path) -> None:
    summary = Trainer(_dreamer(dict_env), _run(tmp_path / "whole", dict_env, 96)).fit()
    # updates start once the replay holds 4 x 8 windows of 8 + 1 steps (env step 40), then 16 / 32 per step
    assert summary["steps"] == 96 and summary["updates"] == (96 - 40) // 2 and "eval_return" in summary
    records = read_metrics(tmp_path / "whole")
    assert {"train/loss/rec", "train/loss/rec/image", "train/loss/rec/position",
            "train/loss/rec/velocity"} <= set(records[-1])
    chunk = safetensors.numpy.load_file(str(next((tmp_path / "whole" / "replay").glob("chunk-*.safetensors"))))
    assert chunk["obs/image"].dtype == np.uint8 and chunk["obs/image"].shape[2:] == (3, 16, 16)
    assert chunk["obs/position"].dtype == np.float32 and chunk["obs/velocity"].shape[2:] == (1,)

    Trainer(_dreamer(dict_env), _run(tmp_path / "parts", dict_env, 48)).fit()
    Trainer.resume(tmp_path / "parts", steps=96).fit()
    whole = create_world_model(tmp_path / "whole" / "model")
    parts = create_world_model(tmp_path / "parts" / "model")
    assert parts.config.obs_space == PARTS
    assert all(torch.equal(whole.state_dict()[k], v) for k, v in parts.state_dict().items())
    assert _wall_free(read_metrics(tmp_path / "whole")) == _wall_free(read_metrics(tmp_path / "parts"))


def test_other_dict_contents_are_refused_naming_what_is_supported(dict_env: str) -> None:
    env = gym.make(dict_env)
    image = gym.spaces.Box(0, 255, (16, 16, 3), np.uint8)
    for space in (gym.spaces.Dict({"a": image, "b": image}),
                  gym.spaces.Dict({"image": image, "mode": gym.spaces.Discrete(2)}),
                  gym.spaces.Dict({"position": gym.spaces.Box(-1, 1, (2,))})):
        env.unwrapped.observation_space = space
        with pytest.raises(ConfigError, match=r"a Dict observation is supported with string keys, exactly one "
                                              r"uint8 Box image \(H, W, C\) and any number of 1-D Box vectors"):
            inspect(env.unwrapped, "bad-dict", 16)


def test_families_without_dict_observations_refuse_before_training(dict_env: str, tmp_path: Path) -> None:
    message = r"takes one observation array; WorldfluxToyDict-v0 gives dict observations"
    with pytest.raises(ConfigError, match=f"TDMPC2Config {message}"):
        create_for_env("tdmpc2:ci", dict_env, image_size=16)
    model = create_world_model("tdmpc2:ci", obs_shape=(3,), action_dim=1)
    with pytest.raises(ConfigError, match=f"tdmpc2:ci {message}"):
        Trainer(model, _run(tmp_path, dict_env, 16)).fit()
    assert not (tmp_path / "checkpoint").exists()
    with pytest.raises(ConfigError, match=r"the model expects observation parts \(none: one array\)"):
        Trainer(create_world_model("dreamer:ci", obs_shape=(3, 16, 16), cnn_mults=(2, 3), action_dim=3,
                                   discrete_actions=True), _run(tmp_path, dict_env, 16)).fit()


def test_replay_chunks_of_one_observation_array_still_load(tmp_path: Path) -> None:
    rows = {"obs": np.arange(12, dtype=np.float32).reshape(1, 4, 3), "action": np.ones((1, 4, 2), np.float32),
            "reward": np.zeros((1, 4), np.float32), "is_first": np.eye(1, 4, dtype=bool),
            "is_terminal": np.zeros((1, 4), bool)}
    safetensors.numpy.save_file(rows, str(tmp_path / "chunk-000000.safetensors"))  # the layout before dict obs
    replay = Replay(8, (3,), 2)
    ReplayFiles(tmp_path, chunk=4).load(replay, 4)
    assert np.array_equal(replay.rows(0, 4)["obs"], rows["obs"])


def test_replay_stores_each_part_in_its_dtype_and_samples_dicts(dict_env: str) -> None:
    shapes, dtypes = env_spec(dict_env, image_size=16).obs_layout()
    replay = Replay(16, shapes, 3, num_envs=2, obs_dtype=dtypes)
    for t in range(10):
        replay.add({"image": np.full((2, 3, 16, 16), t, np.uint8), "position": np.full((2, 2), t, np.float32),
                    "velocity": np.full((2, 1), -t, np.float32)},
                   np.zeros((2, 3), np.float32), np.zeros(2, np.float32), np.zeros(2, bool), np.zeros(2, bool))
    batch = replay.sample(np.random.default_rng(0), 4, 5)
    assert {k: (v.dtype, tuple(v.shape)) for k, v in batch.obs.items()} == {
        "image": (torch.uint8, (4, 5, 3, 16, 16)), "position": (torch.float32, (4, 5, 2)),
        "velocity": (torch.float32, (4, 5, 1))}
    assert torch.equal(batch.obs["image"][:, :, 0, 0, 0].float(), batch.obs["position"][..., 0])
    assert replay.fields[:3] == ("obs/image", "obs/position", "obs/velocity")
