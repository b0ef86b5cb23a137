"""DreamerV3 with dict observations: one image through the CNN, symlogged vectors through the MLP (official)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from worldflux import create_world_model
from worldflux.config import config_to_dict, make_config
from worldflux.errors import ConfigError
from worldflux.testing import WorldModelConformance
from worldflux.types import Batch
from worldflux_dreamer.agent import DreamerAgent
from worldflux_dreamer.config import DreamerV3Config
from worldflux_dreamer.functional import symlog

PARTS = {"image": (3, 16, 16), "velocity": (2,), "position": (3,)}
SMALL = {"obs_shape": (3, 16, 16), "cnn_mults": (2, 3), "action_dim": 2, "batch_length": 8}


@pytest.mark.parametrize("preset", ["dreamer:ci"])
class TestDreamerDictObservations(WorldModelConformance):
    """The whole protocol kit (save/load, agent checkpoint round trip, ...) on an image plus two vectors."""

    build_kwargs = {**SMALL, "obs_space": PARTS}


def _model(seed: int = 0, **changes: object) -> object:
    torch.manual_seed(seed)
    return create_world_model("dreamer:ci", **{**SMALL, "obs_space": PARTS, **changes})


def _obs(*lead: int) -> dict[str, torch.Tensor]:
    return {"image": torch.randint(0, 256, (*lead, 3, 16, 16), dtype=torch.uint8),
            "velocity": torch.randn(*lead, 2) * 10, "position": torch.randn(*lead, 3)}


def _batch(b: int = 2, t: int = 5) -> Batch:
    is_first = torch.zeros(b, t, dtype=torch.bool)
    is_first[:, 0] = True
    return Batch(obs=_obs(b, t), action=torch.rand(b, t, 2) * 2 - 1, reward=torch.randn(b, t), is_first=is_first,
                 is_terminal=torch.zeros(b, t, dtype=torch.bool))


def test_the_config_survives_json_and_names_what_it_supports() -> None:
    config = _model().config
    assert make_config(DreamerV3Config, json.loads(json.dumps(config_to_dict(config)))) == config
    assert config.image_key == "image" and config.vector_keys == ("position", "velocity")
    with pytest.raises(ConfigError, match=r"obs_space must name one \(C, H, W\) uint8 image and any number of "
                                          r"\(D,\) vectors"):
        _model(obs_space={"a": (3, 16, 16), "b": (3, 16, 16)})
    with pytest.raises(ConfigError, match=r"obs_space must name one"):
        _model(obs_space={"position": (3,)})
    with pytest.raises(ConfigError, match=r"obs_shape \(3, 64, 64\) must be the shape of the image 'image' in "
                                          r"obs_space; pass obs_shape=\(3, 16, 16\)"):
        _model(obs_shape=(3, 64, 64))
    with pytest.raises(ConfigError, match="a non-empty mapping of names to non-empty tuples of positive ints"):
        _model(obs_space={"image": (3, 16, 16), "position": (0,)})


def test_encoder_concatenates_the_mlp_of_sorted_symlogged_vectors_and_the_cnn() -> None:
    model, single = _model(), _model(obs_space=None)
    obs = _obs(4)
    embed = model.encoder(obs)
    image_only = single.encoder(obs["image"])
    assert embed.shape == (4, model.encoder.out_dim) and model.encoder.out_dim == 32 + image_only.shape[-1]
    vectors = symlog(torch.cat([obs["position"], obs["velocity"]], -1))  # sorted by name, then symlog
    torch.testing.assert_close(embed[:, :32], model.encoder.vectors(vectors))
    shuffled = {k: obs[k] for k in ("velocity", "image", "position")}
    assert torch.equal(model.encoder(shuffled), embed)  # the dict's order does not matter
    state = model.encode(obs)
    assert {k: tuple(v.shape) for k, v in state.tensors.items()} == {
        "deter": (4, 64), "stoch": (4, 4, 4), "logits": (4, 4, 4)}
    pred = model.predict(state, torch.zeros(4, 2))
    assert pred.reward.shape == (4,) and pred.cont.shape == (4,)


def _count(*modules: torch.nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def test_the_vector_parts_are_the_official_vector_encoder_and_decoder() -> None:
    model, vector = _model(), _model(obs_space=None, obs_shape=(5,))
    assert _count(model.encoder.vectors) == _count(vector.encoder.net)
    assert _count(model.decoder.vectors, model.decoder.heads) == _count(vector.decoder.net)
    image_only = _model(obs_space={"img": (3, 16, 16)})
    assert image_only.num_parameters() == _model(obs_space=None).num_parameters()


def test_the_reconstruction_loss_has_a_summed_term_per_part() -> None:
    model = _model()
    post = model.encode(_obs(2))
    recon = model.decoder(post["deter"], post["stoch"])
    assert {k: tuple(v.shape) for k, v in recon.items()} == {"image": (2, 3, 16, 16), "position": (2, 3),
                                                             "velocity": (2, 2)}
    out = model.loss(_batch())
    parts = [out.metrics[f"loss/rec/{k}"] for k in ("image", "position", "velocity")]
    assert all(p > 0 for p in parts)
    torch.testing.assert_close(out.metrics["loss/rec"], sum(parts))


def test_save_and_load_give_identical_predictions(tmp_path: Path) -> None:
    model = _model()
    model.save_pretrained(tmp_path / "saved")
    loaded = create_world_model(tmp_path / "saved")
    assert loaded.config == model.config
    obs, action = _obs(3), torch.rand(3, 2) * 2 - 1
    outputs = []
    for m in (model, loaded):
        torch.manual_seed(1)
        pred = m.predict(m.encode(obs), action)
        outputs.append((pred.state["logits"], pred.reward, pred.cont))
    assert all(torch.equal(a, b) for a, b in zip(*outputs))


def test_the_agent_acts_on_dict_observations_and_updates() -> None:
    model = _model(warmup=0)  # the first LaProp step of a warm-up has learning rate 0
    agent = DreamerAgent(model, num_envs=3)
    action = agent.act(_obs(3), torch.ones(3, dtype=torch.bool), explore=True)
    assert action.shape == (3, 2) and bool((action.abs() <= 1).all())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    metrics = agent.update(_batch())
    assert all(torch.isfinite(v) for v in metrics.values()) and "loss/rec/velocity" in metrics
    assert not torch.equal(before["encoder.vectors.0.weight"], model.state_dict()["encoder.vectors.0.weight"])
    assert not torch.equal(before["decoder.heads.1.weight"], model.state_dict()["decoder.heads.1.weight"])
