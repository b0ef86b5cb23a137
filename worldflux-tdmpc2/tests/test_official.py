"""Official TD-MPC2 checkpoints: convert, load, export, refuse what does not fit; multi-task models."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from worldflux import create_world_model
from worldflux.errors import ConfigError
from worldflux.official import convert_checkpoint, export_checkpoint
from worldflux.state import catalog
from worldflux_tdmpc2.config import TDMPC2Config
from worldflux_tdmpc2.official import (TASK_SETS, TASKS, OfficialCheckpointError, build_native, convert, export,
                                       read_checkpoint, task_set_fields, to_official, with_tensordict_metadata)
from worldflux_tdmpc2.parity import Fixture, plan_rows, q_rows
from worldflux_tdmpc2.planner import Planner

OFFICIAL = Path(__file__).parent / "fixtures" / "official"
FIXTURES = ["ci_single", "ci_episodic", "ci_multitask"]
MANIFESTS = ["mt80_1m", "mt80_5m", "mt80_19m", "mt80_48m", "mt80_317m", "single_5m"]


def _options(fx: Fixture) -> dict:
    return dict(fx.config)


def _manifest(name: str) -> dict:
    return json.loads((OFFICIAL / "manifests" / f"{name}.json").read_text())


def manifest_state(manifest: dict, device: str = "cpu", seed: int = 0) -> dict:
    """A state dict of the manifest's keys and shapes: random weights, the official buffers, the detach alias."""
    g = torch.Generator().manual_seed(seed)
    config = manifest["request"]["config"]
    state = {}
    for key, shape in manifest["keys"].items():
        if key.startswith("_detach_Qs_params."):
            state[key] = state["_Qs.params." + key[len("_detach_Qs_params."):]]
        elif device == "meta":
            state[key] = torch.empty(shape, device="meta")
        else:
            state[key] = torch.randn(shape, generator=g) * 0.1
    if device != "meta":
        state["log_std_min"], state["log_std_dif"] = torch.tensor(-10), torch.tensor(12)
        if "_action_masks" in state:
            state["_action_masks"] = torch.zeros_like(state["_action_masks"])
            for i, dim in enumerate(config["action_dims"]):
                state["_action_masks"][i, :dim] = 1.0
            state["_task_emb.weight"] *= 0.2  # inside the max-norm ball, as trained embeddings are
    return state


# --- the official checkpoints the probe saved -------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_official_checkpoint_converts_loads_and_gives_the_official_q_values_and_plan(name, tmp_path):
    fx = Fixture(OFFICIAL / name)
    out = convert_checkpoint("official-tdmpc2", OFFICIAL / name / "official.pt", tmp_path / "model", **_options(fx))
    model = create_world_model(out)
    weights = to_official(model.state_dict(), model.config)
    for key, value in fx.group("final/").items():  # the exact official weights after the probe's updates
        assert torch.equal(weights[key].double(), torch.from_numpy(value).double()), key
    rows = q_rows(fx, model) + plan_rows(fx, model)
    assert [r.quantity for r in rows if not r.ok] == [], [r.to_dict() for r in rows if not r.ok]
    assert rows[0].quantity == "Q all members" and rows[0].error <= 1e-6


@pytest.mark.parametrize("name", FIXTURES)
def test_export_writes_the_official_layout_back(name, tmp_path):
    fx = Fixture(OFFICIAL / name)
    source = OFFICIAL / name / "official.pt"
    saved = convert(source, tmp_path / "model", **_options(fx))
    exported = export_checkpoint("official-tdmpc2", saved, tmp_path / "exported.pt")
    # the probe saved `source` with the official save() under tensordict 0.8.3, the official pin
    original = torch.load(source, weights_only=True)["model"]
    back = torch.load(exported, weights_only=True)["model"]
    assert list(back) == list(original)  # every entry, tensordict metadata included, in the official order
    for key, value in original.items():
        if isinstance(value, torch.Tensor):
            assert back[key].shape == value.shape and back[key].dtype == value.dtype, key
            assert torch.equal(back[key], value), key
        else:
            assert back[key] == value, key


def test_the_old_numbered_ensemble_layout_converts_to_the_same_model(tmp_path):
    state = read_checkpoint(OFFICIAL / "ci_single" / "official.pt")
    names = ["weight", "bias", "ln.weight", "ln.bias"]
    old = {k: v for k, v in state.items() if "Qs" not in k and not k.startswith("log_std")}
    for layer, name in [(layer, n) for layer in range(3) for n in names]:
        if f"_Qs.params.{layer}.{name}" in state:
            num = layer * 4 + names.index(name)
            old[f"_Qs.params.{num}"] = state[f"_Qs.params.{layer}.{name}"]
            old[f"_target_Qs.params.{num}"] = state[f"_target_Qs_params.{layer}.{name}"]
    torch.save({"model": old}, tmp_path / "old.pt")
    a = build_native(state, episode_length=500).state_dict()
    b = build_native(read_checkpoint(tmp_path / "old.pt"), episode_length=500).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- the official layout at every official size (manifests recorded from the official code) ------------


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_state_dicts_convert_and_export_to_the_same_layout(name):
    manifest = _manifest(name)
    options = {} if manifest["request"]["config"]["tasks"] else {"episode_length": 500}
    model = build_native(manifest_state(manifest, "meta"), device="meta", **options)
    exported = with_tensordict_metadata(to_official(model.state_dict(), model.config))
    assert {k: list(v.shape) for k, v in exported.items() if isinstance(v, torch.Tensor)} == manifest["keys"]
    assert {k: list(v) if v is not None else v for k, v in exported.items()
            if not isinstance(v, torch.Tensor)} == manifest["metadata"]
    assert list(exported) == manifest["order"]
    size = name.split("_")[1]
    assert model.preset_name == f"tdmpc2:{size}"
    if manifest["request"]["config"]["tasks"]:
        assert model.config.tasks == TASK_SETS["mt80"] and model.config.task_dim == 96


def test_mt80_action_masks_must_agree_with_the_official_task_table():
    state = manifest_state(_manifest("mt80_1m"))
    state["_action_masks"][0, 5] = 0.0  # walker-stand with 5 actions
    with pytest.raises(OfficialCheckpointError, match=r"official mt80 tasks: walker-stand \(5, table 6\)"):
        build_native(state, device="meta")


@pytest.mark.parametrize("name", ["mt80_1m", "mt80_5m"])
def test_mt80_checkpoints_plan_for_several_tasks(name, tmp_path):
    torch.manual_seed(0)
    torch.save({"model": manifest_state(_manifest(name))}, tmp_path / "mt80.pt")
    small_search = {"num_samples": "64", "num_elites": "8", "num_pi_trajs": "4", "iterations": "2"}
    model = create_world_model(convert(tmp_path / "mt80.pt", tmp_path / "model", **small_search))
    assert model.config.tasks == TASK_SETS["mt80"] and model.config.num_samples == 64
    picks = ["walker-walk", "cartpole-swingup", "fish-swim", "mw-reach"]
    task = torch.tensor([model.config.tasks.index(t) for t in picks])
    assert model.discounts[task].tolist() == pytest.approx([0.99, 0.99, 0.99, 0.95])
    obs = torch.zeros(len(picks), 39)
    for i, t in enumerate(picks):  # zero-padded to the largest observation, as the official wrapper does
        obs[i, : TASKS[t][0]] = torch.randn(TASKS[t][0])
    planner = Planner(model, len(picks))
    for first in (True, False):
        action = planner.act({"obs": obs, "task": task}, torch.tensor([first] * len(picks)), explore=True)
        assert action.shape == (4, 6) and action.abs().max() <= 1
        for i, t in enumerate(picks):
            assert (action[i, TASKS[t][1]:] == 0).all() and (planner.prev_mean[i, :, TASKS[t][1]:] == 0).all()
            assert (action[i, : TASKS[t][1]] != 0).all()


def test_task_set_fields_follow_the_official_parser():
    assert task_set_fields("mt80", 5)["task_dim"] == 96 and task_set_fields("mt30", 5)["task_dim"] == 64
    assert task_set_fields("mt30", 1)["task_dim"] == 96 and task_set_fields("mt30", 19)["latent_dim"] == 512
    mt80 = task_set_fields("mt80")
    assert mt80["obs_shape"] == (39,) and mt80["action_dim"] == 6 and len(mt80["tasks"]) == 80
    assert task_set_fields("mt30")["obs_shape"] == (24,)


# --- refusing what does not fit ---------------------------------------------------------------------------


class _Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"model": {"_pi.0.weight": _Hostile(marker)}}, tmp_path / "hostile.pt")
    with pytest.raises(OfficialCheckpointError, match="not a weights-only checkpoint"):
        convert(tmp_path / "hostile.pt", tmp_path / "model", episode_length="500")
    assert not marker.exists() and not (tmp_path / "model").exists()


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("_pi.0.bias"), "missing: _pi.0.bias"),
    (lambda s: s.update({"_extra.weight": torch.zeros(3)}), "unexpected: _extra.weight"),
    (lambda s: s.update({"_reward.1.ln.weight": torch.ones(33)}), r"_reward.1.ln.weight \(33,\) \(expected \(32,\)\)"),
    (lambda s: s.update({"_target_Qs_params.1.bias": torch.zeros(2, 31)}),
     r"_target_Qs_params.1.bias \(2, 31\) \(expected \(2, 32\)\)"),
    (lambda s: s.pop("_dynamics.0.weight"), "has no '_dynamics.0.weight'"),
    (lambda s: s["_detach_Qs_params.0.bias"].add_(1), r"_detach_Qs_params.0.bias.*inconsistent"),
])
def test_a_tensor_that_does_not_fit_is_an_error_naming_it(tmp_path, change, message):
    state = {k: v.clone() for k, v in read_checkpoint(OFFICIAL / "ci_single" / "official.pt").items()}
    change(state)
    torch.save({"model": state}, tmp_path / "bad.pt")
    with pytest.raises(OfficialCheckpointError, match=message):
        convert(tmp_path / "bad.pt", tmp_path / "model", episode_length="500")


def test_options_set_what_the_tensors_do_not_and_may_not_contradict_them(tmp_path):
    source = OFFICIAL / "ci_single" / "official.pt"
    with pytest.raises(OfficialCheckpointError, match="episode_length=N or task=NAME"):
        convert(source, tmp_path / "a")
    assert create_world_model(convert(source, tmp_path / "b", task="walker-run")).config.discount == 0.99
    assert create_world_model(convert(source, tmp_path / "c", task="mw-reach")).config.discount == 0.95
    model = create_world_model(convert(source, tmp_path / "d", episode_length="200", mpc="false"))
    assert model.config.episode_length == 200 and model.config.mpc is False
    with pytest.raises(OfficialCheckpointError, match="latent_dim=64 contradicts the checkpoint"):
        convert(source, tmp_path / "e", episode_length="500", latent_dim="64")
    with pytest.raises(OfficialCheckpointError, match="Unknown option"):
        convert(source, tmp_path / "f", episode_length="500", lattent_dim="64")
    with pytest.raises(OfficialCheckpointError, match="neither mt30 nor mt80"):
        convert(OFFICIAL / "ci_multitask" / "official.pt", tmp_path / "g")
    mt = create_world_model(convert(OFFICIAL / "ci_multitask" / "official.pt", tmp_path / "h",
                                    tasks="walker-walk,cartpole-swingup,mw-reach"))
    assert mt.config.action_dims == (6, 1, 4) and mt.config.episode_lengths == (500, 500, 100)


def test_tensordict_metadata_and_placeholders_are_not_weights(tmp_path):
    raw = torch.load(OFFICIAL / "ci_single" / "official.pt", weights_only=True)["model"]
    assert raw["_Qs.params.__batch_size"] == torch.Size([2]) and raw["_target_Qs_params.__device"] is None
    state = read_checkpoint(OFFICIAL / "ci_single" / "official.pt")
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    # tensordict >= 0.9: the official save() writes data-less meta placeholders instead
    newer = {**state, "_Qs.module.0.weight": torch.empty(32, 30, device="meta"),
             "_target_Qs.module.2.bias": torch.empty(101, device="meta")}
    torch.save({"model": newer}, tmp_path / "newer.pt")
    assert read_checkpoint(tmp_path / "newer.pt").keys() == state.keys()
    torch.save({"model": {**state, "_Qs.module.0.weight": torch.zeros(32, 30)}}, tmp_path / "real.pt")
    with pytest.raises(OfficialCheckpointError, match="unexpected: _Qs.module.0.weight"):
        convert(tmp_path / "real.pt", tmp_path / "m", episode_length="500")


def test_export_refuses_options(tmp_path):
    saved = convert(OFFICIAL / "ci_single" / "official.pt", tmp_path / "m", episode_length="500")
    with pytest.raises(OfficialCheckpointError, match="no options"):
        export(saved, tmp_path / "x.pt", layout="old")


def test_official_record_is_registered():
    record = catalog().official("official-tdmpc2")
    assert (record.family, record.convert, record.export, record.probe, record.compare) == (
        "tdmpc2", "worldflux_tdmpc2.official:convert", "worldflux_tdmpc2.official:export",
        "worldflux_tdmpc2.parity_probe", "worldflux_tdmpc2.parity:compare")
    assert (record.python_env, record.checkout_env) == ("WORLDFLUX_TDMPC2_PYTHON", "WORLDFLUX_TDMPC2_CHECKOUT")


# --- multi-task config and model -------------------------------------------------------------------------


def test_task_fields_are_checked_and_survive_a_save(tmp_path):
    with pytest.raises(ConfigError, match="tasks must be a tuple of non-empty strings"):
        TDMPC2Config(tasks=("walker-walk", 3))
    assert TDMPC2Config(tasks=["a", "b"]).tasks == ("a", "b")
    with pytest.raises(ValueError, match="action_dims has 1 entries for 2 tasks"):
        create_world_model("tdmpc2:ci", tasks=("a", "b"), action_dims=(2,), device="meta")
    with pytest.raises(ValueError, match="exceed action_dim"):
        create_world_model("tdmpc2:ci", tasks=("a",), action_dims=(9,), action_dim=6, device="meta")
    model = create_world_model("tdmpc2:ci", obs_shape=(7,), action_dim=3, tasks=("a", "b"), action_dims=(3, 1),
                               episode_lengths=(500, 100), task_dim=8)
    model.save_pretrained(tmp_path / "m")
    loaded = create_world_model(tmp_path / "m")
    assert loaded.config == model.config and loaded.config.discounts == (0.99, 0.95)
    assert torch.equal(loaded.task_emb.weight, model.task_emb.weight)


def test_multitask_model_masks_missing_actions_and_keeps_the_task_in_its_state():
    torch.manual_seed(0)
    model = create_world_model("tdmpc2:ci", obs_shape=(7,), action_dim=3, tasks=("a", "b"), action_dims=(3, 1),
                               task_dim=8)
    assert model.task_emb.max_norm == 1 and model.task_emb.weight.abs().max() <= 0.02
    state = model.encode({"obs": torch.randn(4, 7), "task": torch.tensor([0, 1, 1, 0])})
    assert state["task"].tolist() == [0, 1, 1, 0]
    action, mean, _, scaled = model.policy_sample(state["z"], state["task"])
    assert (action[1:3, 1:] == 0).all() and (mean[1:3, 1:] == 0).all() and (action[[0, 3]] != 0).all()
    step = model.predict(state, action)
    assert torch.equal(step.state["task"], state["task"]) and model.value(step.state).shape == (4,)
    seq = model.encode({"obs": torch.randn(2, 5, 7), "task": torch.tensor([1, 0])})
    assert seq["task"].tolist() == [[1] * 5, [0] * 5]
    with pytest.raises(ValueError, match="pass the task index"):
        model.encode(torch.randn(2, 7))


# --- a pixel model -------------------------------------------------------------------------------------------


def test_an_official_pixel_checkpoint_converts_and_encodes_and_values_as_officially(tmp_path):
    """The probe's pixel fixture: the official conv model's checkpoint, its encodings of fixed frames under
    fixed shift seeds, and every Q member's logits there."""
    fx = OFFICIAL / "ci_pixels"
    arrays = dict(np.load(fx / "arrays.npz", allow_pickle=False))
    model = create_world_model(convert(fx / "official.pt", tmp_path / "model", episode_length="500"))
    c = model.config
    assert (c.obs_shape, c.conv_channels, c.frame_stack, c.latent_dim) == ((9, 64, 64), 8, 3, 128)
    images, action = torch.from_numpy(arrays["images"]), torch.from_numpy(arrays["action"])
    model.eval()
    for seed in json.loads((fx / "fixture.json").read_text())["shift_seeds"]:
        torch.manual_seed(seed)  # the random shift draws from torch's generator, as officially
        with torch.no_grad():
            z = model.encode(images)["z"]
            q = model.q(z, action, "all")
        assert torch.allclose(z, torch.from_numpy(arrays[f"z/{seed}"]), atol=1e-6, rtol=0)
        assert torch.allclose(q, torch.from_numpy(arrays[f"q/{seed}"]), atol=1e-5, rtol=1e-5)
    back = export(tmp_path / "model", tmp_path / "back.pt")
    original = torch.load(fx / "official.pt", weights_only=True)["model"]
    exported = torch.load(back, weights_only=True)["model"]
    real = {k: v for k, v in original.items() if isinstance(v, torch.Tensor) and not v.is_meta}  # no placeholders
    assert set(real) == {k for k, v in exported.items() if isinstance(v, torch.Tensor)}
    assert all(torch.equal(exported[k], v) for k, v in real.items())
