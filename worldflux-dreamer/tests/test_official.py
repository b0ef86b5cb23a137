"""Official DreamerV3 checkpoints: convert, load, reproduce official outputs; refuse what does not fit or is hostile.

``fixtures/official/cartpole_trained/logdir`` is a real danijar/dreamerv3 run (CartPole-v1,
1,571 updates, tiny widths) as the official code wrote it; its ``fixture.json`` and
``arrays.npz`` hold the official outputs of that checkpoint (see test_parity.py).
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from worldflux import create_world_model
from worldflux.errors import WorldFluxError
from worldflux.official import convert_checkpoint
from worldflux.safe_pickle import UnsafePickleError
from worldflux_dreamer.official import (CheckpointMismatchError, convert, find_agent_pickle, infer_config,
                                        load_official, name_map, read_params, to_official)
from worldflux_dreamer.parity import load_fixture

FIXTURES = Path(__file__).parent / "fixtures" / "official"
RUN = FIXTURES / "cartpole_trained" / "logdir"


def _agent_pickle() -> Path:
    return next((RUN / "ckpt").glob("*/agent.pkl"))


def _write_checkpoint(folder: Path, params: dict) -> Path:
    """A checkpoint folder as elements.Checkpoint writes it (plain pickle of params and counters)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agent.pkl").write_bytes(pickle.dumps({"params": params, "counters": {"updates": 0}}))
    return folder / "agent.pkl"


@pytest.mark.parametrize("form", ["logdir", "ckpt", "stamp", "file"])
def test_every_form_of_source_finds_the_agent_pickle(form):
    source = {"logdir": RUN, "ckpt": RUN / "ckpt", "stamp": _agent_pickle().parent, "file": _agent_pickle()}[form]
    assert find_agent_pickle(source) == _agent_pickle()


def test_converted_checkpoint_loads_and_reproduces_the_official_policy_and_critic(tmp_path):
    out = convert_checkpoint("official-dreamerv3", RUN, tmp_path / "model")
    model = create_world_model(out)
    c = model.config
    assert (c.obs_shape, c.action_dim, c.discrete_actions) == ((4,), 2, True)
    assert (c.deter_dim, c.hidden, c.stoch_discrete, c.stoch_classes, c.units, c.bins, c.imag_horizon) == (
        32, 16, 4, 4, 16, 31, 8)
    assert (c.lr, c.warmup, c.batch_size, c.batch_length) == (1e-3, 0, 4, 16)  # from the run's config.yaml

    meta, arrays = load_fixture(FIXTURES / "cartpole_trained")
    params = read_params(_agent_pickle())
    for key, value in arrays.items():  # the fixture's outputs are of this very checkpoint
        if key.startswith("param/"):
            np.testing.assert_array_equal(value, params[key[len("param/"):]])
    model.eval()
    with torch.no_grad():
        feat = model.features({"deter": torch.from_numpy(arrays["out/post_deter"]),
                               "stoch": torch.from_numpy(arrays["draw/post_stoch"])})
        logp = model.actor(feat).logits
        value = model.critic.mean(model.critic(feat))
        slow = model.slow_critic.mean(model.slow_critic(feat))
        reward = model.reward_head.mean(model.reward_head(feat))
    official_logits = arrays["out/policy_logits"].astype(np.float64)
    official_logp = official_logits - np.log(np.exp(official_logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(logp.numpy(), official_logp, rtol=0, atol=1e-5 * np.abs(official_logp).max())
    for name, native in (("value", value), ("slow_value", slow), ("reward", reward)):
        official = arrays[f"out/{name}"]
        assert np.abs(official).max() > 1e-2  # trained heads, not the zero of initialisation
        np.testing.assert_allclose(native.numpy(), official, rtol=0, atol=1e-5 * np.abs(official).max())
    assert float(model.retnorm.hi) == pytest.approx(float(params["retnorm/hi/value"]), rel=0, abs=0)


def test_round_trip_through_the_official_layout():
    params = read_params(_agent_pickle())
    config = infer_config(params, {"agent.dyn.rssm.stoch": 4})
    model = load_official(params, config)
    back = to_official(model)
    weights = {k: v for k, v in params.items() if not k.startswith(("opt/", "slowval_count/"))}
    assert back.keys() == weights.keys()
    for key in weights:
        np.testing.assert_array_equal(back[key], weights[key])


@pytest.mark.parametrize("name", ["image_discrete", "vector_continuous"])
def test_the_name_table_covers_every_official_parameter(name):
    meta, arrays = load_fixture(FIXTURES / name)
    from worldflux.config import make_config
    from worldflux_dreamer.config import DreamerV3Config

    config = make_config(DreamerV3Config, meta["request"]["config"])
    official = {k[len("param/"):] for k in arrays if k.startswith("param/")}
    assert {o for o, _ in name_map(config, meta["obs_key"], meta["act_key"]).values()} == official


def test_the_name_table_covers_every_official_parameter_of_a_dict_observation():
    meta, arrays = load_fixture(FIXTURES / "dict_codec")
    from worldflux.config import make_config
    from worldflux_dreamer.config import DreamerV3Config

    config = make_config(DreamerV3Config, meta["request"]["config"])
    official = {k[len("param/"):] for k in arrays if k.startswith("param/")}
    assert {o for o, _ in name_map(config).values()} == official


def test_a_dict_observation_checkpoint_converts_exports_and_reproduces_the_official_encoder(tmp_path):
    """An official agent on an image plus two vectors (the codec fixture's weights) as agent.pkl, no config.yaml."""
    _, arrays = load_fixture(FIXTURES / "dict_codec")
    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    pkl = _write_checkpoint(tmp_path / "ckpt" / "20260101T000000", params)
    model = create_world_model(convert(pkl, tmp_path / "model", stoch="4"))
    c = model.config
    assert c.obs_space == {"image": (3, 16, 16), "position": (3,), "velocity": (2,)}
    assert (c.obs_shape, c.enc_layers, c.dec_layers, c.units) == ((3, 16, 16), 3, 3, 32)
    assert [c.cnn_depth * m for m in c.cnn_mults] == [8, 16]  # the stages' depths (4 x (2, 4) = 8 x (1, 2))
    obs = {k[len("input/obs/"):]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("input/obs/")}
    obs["image"] = obs["image"].permute(0, 1, 4, 2, 3)
    with torch.no_grad():
        embed = model.encoder(obs)
    np.testing.assert_allclose(embed.numpy(), arrays["out/tokens"], rtol=0, atol=1e-5)
    back = to_official(model)
    assert back.keys() == params.keys()
    for key in params:
        np.testing.assert_array_equal(back[key], params[key])


def test_shapes_alone_need_the_number_of_latents(tmp_path):
    """Without config.yaml the sizes come from the shapes; 4 latents x 4 classes cannot be told from 1 x 16."""
    pkl = tmp_path / "ckpt" / "stamp" / "agent.pkl"
    pkl.parent.mkdir(parents=True)
    shutil.copy(_agent_pickle(), pkl)
    with pytest.raises(WorldFluxError, match="stoch=N"):
        convert(pkl, tmp_path / "a")
    model = create_world_model(convert(pkl, tmp_path / "b", stoch="4"))
    assert (model.config.stoch_discrete, model.config.stoch_classes, model.config.deter_dim) == (4, 4, 32)
    assert model.config.lr == 4e-5  # no config.yaml: official defaults for the hyper-parameters
    with pytest.raises(WorldFluxError, match="Unknown option"):
        convert(pkl, tmp_path / "c", stoch="4", colour="red")


def test_unmatched_missing_and_misshaped_tensors_are_all_named(tmp_path):
    params = read_params(_agent_pickle())
    params["dyn/extra/kernel"] = np.zeros((3, 3), np.float32)
    del params["val/mlp/linear1/bias"]
    params["rew/head/logits/bias"] = params["rew/head/logits/bias"][:-1]
    shutil.copy(RUN / "config.yaml", tmp_path / "config.yaml")
    pkl = _write_checkpoint(tmp_path / "ckpt" / "20260101T000000", params)
    with pytest.raises(CheckpointMismatchError) as info:
        convert(pkl, tmp_path / "out")
    message = str(info.value)
    assert "dyn/extra/kernel" in message
    assert "critic.net.0.2.bias (official val/mlp/linear1/bias)" in message
    assert "rew/head/logits/bias (30,) -> reward_head.net.1.bias needs (31,)" in message
    assert not (tmp_path / "out").exists()


def test_a_hostile_agent_pickle_is_refused(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    params = read_params(_agent_pickle())
    params["dyn/dynin0/kernel"] = Payload()
    pkl = _write_checkpoint(tmp_path / "ckpt" / "20260101T000000", params)
    with pytest.raises(UnsafePickleError, match="system"):
        convert_checkpoint("official-dreamerv3", tmp_path, tmp_path / "out")
    assert not marker.exists()


def test_a_source_without_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(WorldFluxError, match="No official DreamerV3 checkpoint"):
        convert(tmp_path, tmp_path / "out")
