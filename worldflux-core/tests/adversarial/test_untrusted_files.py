"""Untrusted files: saved models and checkpoints that were altered are refused with a worldflux error naming the
file, never followed outside their directory, never allocated from before their sizes are checked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import safetensors.torch
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worldflux import create_world_model
from worldflux.errors import SavedModelError, WorldFluxError
from worldflux.training.checkpoint import load_checkpoint, save_checkpoint

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)


def _saved(root: Path) -> Path:
    torch.manual_seed(0)
    path = root / "model"
    create_world_model("toy:tiny").save_pretrained(path)
    return path


def _edit(path: Path, change) -> None:
    data = json.loads((path / "config.json").read_text())
    change(data)
    (path / "config.json").write_text(json.dumps(data))


@pytest.mark.parametrize("name", ["../other/weights.safetensors", "/etc/passwd", "..", "", 7, None])
def test_a_weights_file_outside_the_model_directory_is_refused(toy, tmp_path: Path, name: object) -> None:
    path = _saved(tmp_path)
    _edit(path, lambda d: d["weights"].__setitem__("file", name))
    with pytest.raises(SavedModelError, match=rf"names weights file .* which is not a file inside {path}") as info:
        create_world_model(path)
    assert "bytes" not in str(info.value)  # nothing about the outside file (its size) is told


def test_a_weights_link_that_leads_outside_is_refused(toy, tmp_path: Path) -> None:
    path = _saved(tmp_path)
    (tmp_path / "elsewhere.safetensors").write_bytes(b"x")
    os.symlink(tmp_path / "elsewhere.safetensors", path / "link.safetensors")
    _edit(path, lambda d: d["weights"].__setitem__("file", "link.safetensors"))
    with pytest.raises(SavedModelError, match="which is not a file inside"):
        create_world_model(path)


def test_a_config_that_does_not_fit_the_weights_is_refused_before_allocating(toy, tmp_path: Path) -> None:
    path = _saved(tmp_path)
    _edit(path, lambda d: d["config"].__setitem__("latent_dim", 200_000))  # the real model would need 160 GB
    with pytest.raises(SavedModelError, match=r"do not fit the toy model its config.json describes \(cont_head.weight: "
                                              r"stored \(1, 8\), config gives \(1, 200000\); .*; 4 more\)"):
        create_world_model(path)


@pytest.mark.parametrize("change,word", [
    (lambda d: d.__setitem__("format_version", "99"), "format_version '99', not a number"),
    (lambda d: d.__setitem__("weights", "x"), "'weights' is missing or not a dict"),
    (lambda d: d.__setitem__("config", []), "'config' is missing or not a dict"),
    (lambda d: d["weights"].pop("sha256"), "lacks its sha256"),
])
def test_a_malformed_config_json_says_what_is_wrong(toy, tmp_path: Path, change, word: str) -> None:
    path = _saved(tmp_path)
    _edit(path, change)
    with pytest.raises(SavedModelError, match=word):
        create_world_model(path)


@FUZZ
@given(data=JSON)
def test_any_config_json_either_loads_or_gives_a_worldflux_error(toy, tmp_path_factory, data: object) -> None:
    path = _saved(tmp_path_factory.mktemp("fuzz"))
    (path / "config.json").write_text(json.dumps(data))
    with pytest.raises(WorldFluxError):
        create_world_model(path)


@FUZZ
@given(header=st.binary(max_size=64))
def test_any_safetensors_header_gives_a_worldflux_error(toy, tmp_path_factory, header: bytes) -> None:
    path = _saved(tmp_path_factory.mktemp("fuzz"))
    weights = next(path.glob("weights-*.safetensors"))
    body = weights.read_bytes()
    weights.write_bytes(len(header).to_bytes(8, "little") + header + body[8 + int.from_bytes(body[:8], "little"):])
    _edit(path, lambda d: d["weights"].update(bytes=weights.stat().st_size, sha256=_sha(weights)))
    with pytest.raises(SavedModelError):
        create_world_model(path)


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- checkpoints --------------------------------------------------------------------------------------


def _checkpoint(root: Path) -> Path:
    save_checkpoint(root, {"model": {"w": torch.ones(2)}, "counters": {"steps": 3}})
    return root


def _edit_state(directory: Path, change) -> None:
    state = json.loads((directory / "state.json").read_text())
    change(state)
    (directory / "state.json").write_text(json.dumps(state))


@pytest.mark.parametrize("name", ["../tensors.safetensors", "/etc/passwd", 3])
def test_a_checkpoint_naming_a_tensor_file_outside_is_refused(tmp_path: Path, name: object) -> None:
    directory = _checkpoint(tmp_path / "checkpoint")
    _edit_state(directory, lambda s: s.__setitem__("tensors", name))
    with pytest.raises(WorldFluxError, match=r"names tensor file .* which is not a file inside"):
        load_checkpoint(directory)


def test_a_dangling_tensor_reference_is_refused(tmp_path: Path) -> None:
    directory = _checkpoint(tmp_path / "checkpoint")
    _edit_state(directory, lambda s: s["tree"]["model"].__setitem__("w", {"__tensor__": "99"}))
    with pytest.raises(WorldFluxError, match="refers to tensor '99', which the tensor file does not hold"):
        load_checkpoint(directory)


@FUZZ
@given(data=JSON)
def test_any_state_json_either_loads_or_gives_a_worldflux_error(tmp_path_factory, data: object) -> None:
    directory = _checkpoint(tmp_path_factory.mktemp("fuzz") / "checkpoint")
    (directory / "state.json").write_text(json.dumps(data))
    with pytest.raises(WorldFluxError):
        load_checkpoint(directory)


# --- a run's checkpoint and replay --------------------------------------------------------------------


def _toy_run(root: Path) -> Path:
    from worldflux.training import Trainer, TrainingConfig

    torch.manual_seed(0)
    config = TrainingConfig(env="Pendulum-v1", steps=32, eval_every=0, log_every=16, checkpoint_every=32,
                            run_dir=str(root / "run"))
    Trainer(create_world_model("toy:tiny", obs_shape=(3,), action_dim=1), config).fit()
    return root / "run"


@pytest.mark.parametrize("change", [
    lambda tree: tree.pop("counters"),
    lambda tree: tree["counters"].__setitem__("steps", "32"),
    lambda tree: tree.pop("envs"),
])
def test_a_checkpoint_whose_tree_was_altered_is_refused_on_resume(toy, tmp_path: Path, change) -> None:
    from worldflux.training import Trainer

    run = _toy_run(tmp_path)
    _edit_state(run / "checkpoint", lambda s: change(s["tree"]))
    with pytest.raises(WorldFluxError, match=r"the checkpoint in .*checkpoint does not fit this run"):
        Trainer.resume(run, steps=48).fit()


def test_a_checkpoint_tensor_of_the_wrong_shape_is_refused_on_resume(toy, tmp_path: Path) -> None:
    from worldflux.training import Trainer

    run = _toy_run(tmp_path)
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    tensors = safetensors.torch.load_file(str(run / "checkpoint" / state["tensors"]))
    key = state["tree"]["model"]["enc.weight"]["__tensor__"]
    tensors[key] = torch.zeros(3, 3)
    safetensors.torch.save_file(tensors, str(run / "checkpoint" / state["tensors"]))
    _edit_state(run / "checkpoint", lambda s: s.update(size=(run / "checkpoint" / s["tensors"]).stat().st_size,
                                                         sha256=_sha(run / "checkpoint" / s["tensors"])))
    with pytest.raises(WorldFluxError, match=r"does not fit this run \(RuntimeError: (.|\n)*"
                                             r"size mismatch for enc.weight"):
        Trainer.resume(run, steps=48).fit()


@pytest.mark.parametrize("content", [b"", b"\x80\x04\x95pickle", b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\""])
def test_a_replay_chunk_that_is_not_safetensors_is_refused_on_resume(toy, tmp_path: Path, content: bytes) -> None:
    from worldflux.training import Trainer

    run = _toy_run(tmp_path)
    (run / "replay" / "chunk-000000.safetensors").write_bytes(content)
    with pytest.raises(WorldFluxError, match="replay chunk .*chunk-000000.safetensors is not a readable safetensors"):
        Trainer.resume(run, steps=48).fit()
