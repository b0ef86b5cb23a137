"""Checkpoints: round trips without pickle, atomic commits, and resumes that lose and repeat nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from worldflux.errors import WorldFluxError
from worldflux.training.checkpoint import load_checkpoint, save_checkpoint
from worldflux.runs import read_metrics

from training_helpers import comparable

HERE = Path(__file__).parent


def test_tree_round_trip_keeps_int_keys_tuples_and_tensors(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    tree = {"opt": opt.state_dict(), "n": 3, "x": 0.5, "flag": True, "none": None, "rng": torch.get_rng_state()}
    save_checkpoint(tmp_path, tree)
    back = load_checkpoint(tmp_path)
    assert set(back["opt"]["state"]) == {0, 1}
    torch.testing.assert_close(back["opt"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert back["n"] == 3 and back["x"] == 0.5 and back["flag"] is True and back["none"] is None
    assert torch.equal(back["rng"], torch.get_rng_state())
    fresh = torch.optim.Adam(model.parameters())
    fresh.load_state_dict(back["opt"])  # betas come back as a list, which Adam accepts
    assert len(list(tmp_path.glob("tensors-*.safetensors"))) == 1


def test_a_second_save_replaces_the_first_and_removes_its_tensors(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, {"w": torch.zeros(2)})
    save_checkpoint(tmp_path, {"w": torch.ones(2)})
    assert torch.equal(load_checkpoint(tmp_path)["w"], torch.ones(2))
    assert len(list(tmp_path.glob("tensors-*.safetensors"))) == 1


def test_corrupt_tensors_are_refused(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, {"w": torch.zeros(64)})
    tensors = next(tmp_path.glob("tensors-*.safetensors"))
    data = bytearray(tensors.read_bytes())
    data[-1] ^= 0xFF
    tensors.write_bytes(bytes(data))
    with pytest.raises(WorldFluxError, match="do not match their recorded sha256"):
        load_checkpoint(tmp_path)


def test_non_tensor_objects_are_not_saved(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="tensors and JSON values; got object"):
        save_checkpoint(tmp_path, {"bad": object()})


def _tiny(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(HERE / "tiny_run.py"), *args], capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("model", ["tdmpc2:ci", "dreamer:ci"])
def test_kill_9_during_a_checkpoint_then_resume_reproduces_the_uninterrupted_run(tmp_path: Path, model: str) -> None:
    env = "Pendulum-v1" if model == "tdmpc2:ci" else "CartPole-v1"
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    assert _tiny(model, env, str(reference)).returncode == 0
    # Commit 2 is the second checkpoint's state.json: the kill lands between its tensors and its commit.
    died = _tiny(model, env, str(killed), "--kill-on-commit", "2")
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    state = json.loads((killed / "checkpoint" / "state.json").read_text())
    assert state["tree"]["counters"]["steps"] == 120  # the first checkpoint survived whole
    assert len(list((killed / "checkpoint").glob("tensors-*.safetensors"))) == 2  # the orphan of the second
    resumed = _tiny(model, env, str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    ref, got = comparable(read_metrics(reference)), comparable(read_metrics(killed))
    assert [r["step"] for r in got] == [r["step"] for r in ref]  # nothing lost, nothing duplicated
    assert got == ref


@pytest.mark.parametrize("kill_at", [40, 80])
def test_kill_9_before_the_first_checkpoint_then_resume_starts_the_run_again_cleanly(tmp_path: Path,
                                                                                   kill_at: int) -> None:
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    assert _tiny("tdmpc2:ci", "Pendulum-v1", str(reference)).returncode == 0
    died = _tiny("tdmpc2:ci", "Pendulum-v1", str(killed), "--kill-after-record", str(kill_at))
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    assert not (killed / "checkpoint" / "state.json").exists() and read_metrics(killed)[-1]["step"] == kill_at
    resumed = _tiny("tdmpc2:ci", "Pendulum-v1", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert comparable(read_metrics(killed)) == comparable(read_metrics(reference))  # no record of the first try


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_at_a_random_moment_then_resume_reproduces_the_uninterrupted_run(tmp_path: Path, seed: int) -> None:
    import random
    import time

    reference, killed = tmp_path / "reference", tmp_path / "killed"
    started = time.monotonic()
    assert _tiny("tdmpc2:ci", "Pendulum-v1", str(reference)).returncode == 0
    whole = time.monotonic() - started
    process = subprocess.Popen([sys.executable, str(HERE / "tiny_run.py"), "tdmpc2:ci", "Pendulum-v1", str(killed)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.Random(seed).uniform(0.3, 0.9) * whole)  # anywhere: before, between or inside checkpoints
    process.kill()
    process.wait()
    resumed = _tiny("tdmpc2:ci", "Pendulum-v1", str(killed), "--resume")
    if resumed.returncode and "is not a worldflux run directory" in resumed.stderr:  # killed before run.json
        resumed = _tiny("tdmpc2:ci", "Pendulum-v1", str(killed))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert comparable(read_metrics(killed)) == comparable(read_metrics(reference))
