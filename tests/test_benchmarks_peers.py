"""benchmarks/peers: the worker protocol and alternation, the native workers, and (live) the whole comparisons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.peers.alternate import Side, alternate, report

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "benchmarks" / "peers"


def _fake_worker(tmp_path: Path, name: str, parameters: int, log: Path) -> Path:
    """A worker whose op appends its name to ``log``, so the order of the calls can be read back."""
    script = tmp_path / f"{name}.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(PEERS)!r})\nimport alternate\n"
        f"proto = alternate.protocol_pipe()\nprint('noise from the code under test')\n"
        f"def op():\n    open({str(log)!r}, 'a').write({name!r} + '\\n')\n"
        f"alternate.worker_loop(proto, {{'parameters': {parameters}, 'warmup_s': 0.0}}, {{'step': op}})\n")
    return script


def test_sides_alternate_and_report_medians(tmp_path, capsys):
    log = tmp_path / "calls.log"
    sides = [Side(n, sys.executable, _fake_worker(tmp_path, n, 10, log), []) for n in ("ours", "theirs")]
    medians = alternate(sides, ["step"], rounds=3, reps=2)
    # round 0 asks ours then theirs, round 1 the other way round, round 2 as round 0
    assert log.read_text().split() == ["ours"] * 2 + ["theirs"] * 4 + ["ours"] * 4 + ["theirs"] * 2
    assert set(medians) == {("ours", "step"), ("theirs", "step")} and all(v >= 0 for v in medians.values())
    report({("ours", "step"): 0.1, ("theirs", "step"): 0.3}, "ours", "theirs", ["step"])
    assert "ours is 3.00x the theirs speed" in capsys.readouterr().out


def test_a_spinning_side_gets_torchs_own_wait_and_the_other_keeps_the_environments(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # what importing worldflux sets
    script = tmp_path / "env.py"
    script.write_text(
        f"import sys, os\nsys.path.insert(0, {str(PEERS)!r})\nimport alternate\nproto = alternate.protocol_pipe()\n"
        "wait = [os.environ.get(k) for k in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')]\n"
        "alternate.worker_loop(proto, {'parameters': 1, 'warmup_s': 0.0, 'wait': wait}, {})\n")
    sleeping, spinning = Side("a", sys.executable, script, []), Side("b", sys.executable, script, [], spin=True)
    assert sleeping.info["wait"] == ["PASSIVE", None] and spinning.info["wait"] == [None, "300000"]
    for side in (sleeping, spinning):
        side.close()


def test_sides_that_built_different_models_are_refused(tmp_path):
    log = tmp_path / "calls.log"
    sides = [Side("ours", sys.executable, _fake_worker(tmp_path, "ours", 10, log), []),
             Side("theirs", sys.executable, _fake_worker(tmp_path, "theirs", 11, log), [])]
    with pytest.raises(SystemExit, match=r"different models: \{'ours': 10, 'theirs': 11\} parameters"):
        alternate(sides, ["step"], rounds=1, reps=1)
    assert not log.exists()


@pytest.mark.parametrize("worker,config,ops,precision", [
    ("tdmpc2_worker.py", {"preset": "tdmpc2:ci", "obs_shape": [5], "action_dim": 2}, ["update", "plan"], "fp32"),
    ("tdmpc2_worker.py", {"preset": "tdmpc2:ci", "obs_shape": [5], "action_dim": 2}, ["update", "plan"], "bf16"),
    ("dreamerv3_worker.py", {"preset": "dreamer:ci", "obs_shape": [4], "action_dim": 2}, ["train"], "bf16"),
])
def test_the_native_workers_build_the_preset_and_time_its_ops(worker, config, ops, precision):
    from worldflux import create_world_model
    from worldflux.building import build_config
    from worldflux.config import config_to_dict
    from worldflux.state import catalog

    preset = catalog().resolve(config.pop("preset"))
    full = {**config_to_dict(build_config(preset, config)), "preset": preset.name}
    if "dreamer" in worker:
        full.update(batch_size=2, batch_length=4)
    side = Side("native", sys.executable, PEERS / worker, ["--side", "native", "--config", json.dumps(full),
                                                            "--threads", "1", "--precision", precision])
    built = create_world_model(preset.name, **{k: v for k, v in full.items() if k != "preset"})
    assert side.info["parameters"] == built.num_parameters()
    for op in ops:
        times = side.time(op, 2)
        assert len(times) == 2 and all(t > 0 for t in times)
    side.close()
    assert side.process.returncode == 0


@pytest.mark.parametrize("module,env", [
    ("tdmpc2", ("WORLDFLUX_TDMPC2_PYTHON", "WORLDFLUX_TDMPC2_CHECKOUT")),
    ("dreamerv3", ("WORLDFLUX_DREAMERV3_PYTHON", "WORLDFLUX_DREAMERV3_CHECKOUT")),
])
def test_live_comparison_with_the_official_code(module, env):
    if not all(os.environ.get(v) for v in env):
        pytest.skip(f"live: set {' and '.join(env)} (the official environment and checkout) to run it")
    preset = "tdmpc2:ci" if module == "tdmpc2" else "dreamer:ci"
    extra = ["--set", "batch_size=2", "--set", "batch_length=4"] if module == "dreamerv3" else []
    out = subprocess.run([sys.executable, "-m", f"benchmarks.peers.{module}", "--preset", preset, "--rounds", "1",
                          "--reps", "1", *extra], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "parameters on both sides" in out.stdout and "x the official speed" in out.stdout


def test_live_comparison_with_sheeprl():
    if not os.environ.get("WORLDFLUX_SHEEPRL_PYTHON"):
        pytest.skip("live: set WORLDFLUX_SHEEPRL_PYTHON (an environment with sheeprl 0.8) to run it")
    out = subprocess.run([sys.executable, "-m", "benchmarks.peers.dreamerv3", "--peer", "sheeprl", "--preset",
                          "dreamer:ci", "--rounds", "1", "--reps", "1", "--threads", "1", "--set", "batch_size=2",
                          "--set", "batch_length=4"], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "parameters on both sides" in out.stdout and "x the sheeprl speed" in out.stdout


def test_a_missing_sheeprl_environment_and_a_gpu_for_it_are_refused_with_what_to_do():
    env = {k: v for k, v in os.environ.items() if k != "WORLDFLUX_SHEEPRL_PYTHON"}
    run = lambda *args: subprocess.run([sys.executable, "-m", "benchmarks.peers.dreamerv3", "--peer", "sheeprl",  # noqa: E731
                                        *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    out = run()
    assert out.returncode == 1 and "--sheeprl-python (or WORLDFLUX_SHEEPRL_PYTHON)" in out.stderr
    out = run("--sheeprl-python", sys.executable, "--device", "cuda")
    assert out.returncode == 1 and "CPU in fp32 only" in out.stderr and "Traceback" not in out.stderr


def test_a_missing_official_environment_is_named():
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORLDFLUX_TDMPC2_")}
    out = subprocess.run([sys.executable, "-m", "benchmarks.peers.tdmpc2"], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=120)
    assert out.returncode == 1 and "--python (or WORLDFLUX_TDMPC2_PYTHON)" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_gpu_scaling_goes_on_to_the_largest_dreamer_size_and_names_the_device():
    from benchmarks.peers.alternate import device_name
    from benchmarks.scaling import points

    sizes = {device: [p["preset"] for p in points(device) if p["ops"] == ["train"] and "batch_size" not in p]
             for device in ("cpu", "cuda")}
    assert sizes["cpu"][-1] == "dreamerv3:size50m" and sizes["cuda"][-1] == "dreamerv3:size400m"
    assert device_name("cpu").startswith("CPU: ")


def _finished_run(run_dir: Path, created: float, finished: float, log: str, summary: dict | None = None) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "job.json").write_text(json.dumps({"created": created}))
    (run_dir / "status.json").write_text(json.dumps({"status": "finished", "time": finished,
                                                     **({"summary": summary} if summary else {})}))
    (run_dir / "run.json").write_text(json.dumps({"training": {"steps": 600}}))
    (run_dir / "logs.txt").write_text(log)
    return run_dir


def test_whole_run_throughput_takes_off_the_official_step0_evaluation(tmp_path):
    from benchmarks.peers.whole_runs import throughput

    # the two lines an official TD-MPC2 run printed here (600 steps, cartpole-balance)
    official_log = (" eval             E: 0                     I: 0                     R: 426.2                 "
                    "S: 0.0                   T: 0:04:45            \n"
                    " train            E: 0                     I: 500                   R: 296.4                 "
                    "S: 0.0                   T: 0:04:46            \n")
    official = throughput(_finished_run(tmp_path / "official", 100.0, 410.5, official_log))
    assert official == {"wall_s": 310.5 - 285, "steps": 600, "updates": None, "eval_s": 285}
    native = throughput(_finished_run(tmp_path / "native", 100.0, 106.9, "step 500 ...\n",
                                      {"steps": 600, "updates": 0}))
    assert native["wall_s"] == pytest.approx(6.9) and native["updates"] == 0 and native["eval_s"] == 0


def test_whole_run_throughput_refuses_a_run_that_did_not_finish(tmp_path):
    from benchmarks.peers.whole_runs import throughput

    run = _finished_run(tmp_path / "run", 0.0, 1.0, "")
    (run / "status.json").write_text(json.dumps({"status": "failed", "time": 1.0, "error": "boom"}))
    with pytest.raises(SystemExit, match="did not finish \\(failed: boom\\)"):
        throughput(run)


@pytest.mark.parametrize("precision,autocast", [("fp32", False), ("bf16", True)])
def test_the_tdmpc2_workers_native_ops_run_under_the_chosen_precision(precision, autocast):
    import torch

    from benchmarks.peers import alternate as sibling

    sys.modules.setdefault("alternate", sibling)  # the worker imports its sibling as a script would
    worker = sibling.by_path("tdmpc2_worker", "benchmarks/peers/tdmpc2_worker.py")
    assert worker._autocast(lambda: torch.is_autocast_enabled("cpu"), "cpu", precision)() is autocast
