"""Backend official_tdmpc2_torch_subprocess: mappings, checks and the refusal without a GPU; one real run when
the official environment is configured (WORLDFLUX_TDMPC2_PYTHON, WORLDFLUX_TDMPC2_CHECKOUT)."""

from __future__ import annotations

import inspect
import os
import time

import pytest

from worldflux.backends import OfficialBackendHandle
from worldflux.errors import BackendError, ConfigError
from worldflux.training.config import TrainingConfig
from worldflux_backends import bridge, official, tdmpc2_torch as td

ENV_VARS = ("WORLDFLUX_TDMPC2_PYTHON", "WORLDFLUX_TDMPC2_CHECKOUT", "WORLDFLUX_TDMPC2_ALLOW_CPU")


@pytest.fixture
def no_env(monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_install(tmp_path):
    """An executable 'python' and a checkout holding tdmpc2/train.py (with the official CUDA assert)."""
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.write_text("#!/bin/sh\nexit 3\n")
    python.chmod(0o755)
    script = tmp_path / "tdmpc2-repo" / "tdmpc2" / "train.py"
    script.parent.mkdir(parents=True)
    script.write_text("import torch\n\tassert torch.cuda.is_available()\n")
    return python, script.parent.parent


def handle(preset="tdmpc2:1m", **metadata):
    return OfficialBackendHandle(backend=td.NAME, model_id=preset, profile=preset.split(":")[1], device="cpu",
                                 metadata=metadata)


@pytest.mark.parametrize("preset,size", [("tdmpc2:proof_5m", 5), ("tdmpc2:5m", 5), ("tdmpc2:1m", 1),
                                         ("tdmpc2:19m", 19), ("tdmpc2:48m", 48), ("tdmpc2:317m", 317)])
def test_model_size(preset, size):
    assert td.model_size(preset) == size


def test_model_size_unknown():
    with pytest.raises(BackendError, match="tdmpc2:1m"):
        td.model_size("tdmpc2:5m_legacy")


@pytest.mark.parametrize("env,task", [
    ("dmc:walker-walk", "walker-walk"),
    ("dmc:cartpole-swingup_sparse", "cartpole-swingup-sparse"),
    ("dmc:ball_in_cup-catch", "cup-catch"),
    ("dmc:cup-catch", "cup-catch"),
    ("dmc:point_mass-easy", "pointmass-easy"),
    ("dmc:cheetah-run-backwards", "cheetah-run-backwards"),
    ("metaworld:assembly", "mw-assembly"),
    ("metaworld:mw-assembly", "mw-assembly"),
    ("tdmpc2:myo-reach", "myo-reach"),
    ("Walker2d-v4", "mujoco-walker"),
    ("HalfCheetah-v4", "mujoco-halfcheetah"),
    ("LunarLanderContinuous-v2", "lunarlander-continuous"),
])
def test_official_task(env, task):
    assert td.official_task(env) == task


@pytest.mark.parametrize("env", ["Pendulum-v1", "CartPole-v1", "dmc:walker", None, "tdmpc2:"])
def test_official_task_refused(env):
    with pytest.raises(ConfigError, match="dmc:<domain>-<task>") as info:
        td.official_task(env)
    assert "Walker2d-v4" in str(info.value)


def test_pixel_tasks_are_refused_with_the_native_alternative():
    with pytest.raises(ConfigError, match="Drop :pixels, or train it on the native backend"):
        td.official_task("dmc:walker-walk:pixels")


def test_overrides():
    config = TrainingConfig(env="dmc:walker-walk", steps=20_000, seed=3, eval_every=2_000, eval_episodes=4,
                            replay_capacity=50_000)
    assert td.overrides("tdmpc2:proof_5m", config, ["horizon=5"]) == [
        "task=walker-walk", "model_size=5", "steps=20000", "seed=3", "eval_freq=2000", "eval_episodes=4",
        "buffer_size=50000", "compile=false", "enable_wandb=false", "save_video=false", "exp_name=worldflux",
        "hydra.run.dir=hydra", "horizon=5"]
    never = td.overrides("tdmpc2:1m", TrainingConfig(env="dmc:walker-walk", steps=100, eval_every=0,
                                                              compile=True))
    assert "eval_freq=101" in never and "compile=true" in never


@pytest.mark.parametrize("change,word", [({"num_envs": 2}, "num_envs"), ({"train_ratio": 512.0}, "train_ratio"),
                                         ({"seed_steps": 10}, "seed_steps"), ({"precision": "bf16"}, "precision")])
def test_overrides_refuse_what_the_official_code_cannot_do(change, word):
    with pytest.raises(ConfigError, match=word):
        td.overrides("tdmpc2:1m", TrainingConfig(env="dmc:walker-walk", **change))


def test_eval_csv_path(tmp_path):
    args = td.overrides("tdmpc2:1m", TrainingConfig(env="dmc:cup-catch", seed=7), ["exp_name=x"])
    assert td.eval_csv(tmp_path, args) == tmp_path / "logs" / "cup-catch" / "7" / "x" / "eval.csv"
    assert td.final_model(tmp_path, args) == tmp_path / "logs" / "cup-catch" / "7" / "x" / "models" / "final.pt"


def test_options(no_env, monkeypatch):
    s = official.settings(td.CODE)
    assert (s.python, s.checkout, s.timeout_s, td.allow_cpu(s), td.extra_args(s)) == (None, None, None, False, [])
    monkeypatch.setenv("WORLDFLUX_TDMPC2_PYTHON", "/env/python")
    monkeypatch.setenv("WORLDFLUX_TDMPC2_ALLOW_CPU", "1")
    s = official.settings(td.CODE, {"checkout": "/src", "timeout_s": 60, "extra_args": ["mpc=false"]})
    assert (s.python, s.checkout, s.timeout_s, td.allow_cpu(s), td.extra_args(s)) == (
        "/env/python", "/src", 60.0, True, ["mpc=false"])
    assert s.python_source == "WORLDFLUX_TDMPC2_PYTHON" and s.checkout_source == "the checkout= option"
    assert td.allow_cpu(official.settings(td.CODE, {"allow_cpu": False})) is False  # the option wins
    with pytest.raises(ConfigError, match="extra_args"):
        td.extra_args(official.settings(td.CODE, {"extra_args": "mpc=false"}))


def test_shared_model_fields_become_official_overrides_and_others_are_refused(no_env):
    s = official.settings(td.CODE, {"batch_size": 64, "lr": 1e-3, "mpc": False})
    assert td.model_overrides(s) == ["batch_size=64", "lr=0.001", "mpc=false"]
    with pytest.raises(ConfigError, match="not latent_dim, units .*the architecture is the official model_size"):
        official.settings(td.CODE, {"latent_dim": 64, "units": 3})


def test_translate():
    assert td.translate({"step": "1000.0", "episode_reward": "12.5"}) == {"step": 1000, "eval_return": 12.5}
    line = " train            E: 3          I: 1,500        R: 43.7         S: 0.0        T: 0:00:09   "
    assert td.translate({"line": line}) == {"step": 1500, "return": 43.7, "train/episode": 3.0,
                                            "train/episode_success": 0.0}
    coloured = "\x1b[34mtrain\x1b[0m  \x1b[34mE:\x1b[0m 1   \x1b[34mI:\x1b[0m 500   \x1b[34mR:\x1b[0m -2.0"
    assert td.translate({"line": coloured}) == {"step": 500, "return": -2.0, "train/episode": 1.0}
    assert td.translate({"line": " eval   E: 0   I: 0   R: 23.2   S: 0.0   T: 0:00:08"}) is None
    assert td.translate({"line": "Pretraining agent on seed data..."}) is None
    assert td.translate({"iteration": 3}) is None


def test_check_points_nowhere(no_env):
    messages = td.check()
    assert len(messages) == 2
    assert "WORLDFLUX_TDMPC2_CHECKOUT" in messages[0] and "WORLDFLUX_TDMPC2_PYTHON" in messages[1]


def test_check_bad_paths(no_env, monkeypatch, tmp_path):
    monkeypatch.setenv("WORLDFLUX_TDMPC2_PYTHON", str(tmp_path / "nope" / "python"))
    monkeypatch.setenv("WORLDFLUX_TDMPC2_CHECKOUT", str(tmp_path))
    messages = td.check()
    assert messages[0] == (f"{tmp_path / 'tdmpc2' / 'train.py'} not found: WORLDFLUX_TDMPC2_CHECKOUT must be the "
                           f"root of a clone of https://github.com/nicklashansen/tdmpc2; see docs/backends.md.")
    assert "is not an executable file" in messages[1]


def test_check_reports_a_broken_interpreter(no_env, monkeypatch, fake_install):
    python, checkout = fake_install
    monkeypatch.setenv("WORLDFLUX_TDMPC2_PYTHON", str(python))
    monkeypatch.setenv("WORLDFLUX_TDMPC2_CHECKOUT", str(checkout))
    (message,) = td.check()
    assert "exited with code 3" in message


def test_check_missing_modules_and_gpu(no_env, monkeypatch, fake_install):
    python, checkout = fake_install
    monkeypatch.setenv("WORLDFLUX_TDMPC2_PYTHON", str(python))
    monkeypatch.setenv("WORLDFLUX_TDMPC2_CHECKOUT", str(checkout))
    monkeypatch.setattr(official, "probe", lambda code, python: {"version": [3, 11], "missing": ["torchrl"],
                                                                 "cuda": False})
    (modules,) = td.check()  # the environment first
    assert f"The TD-MPC2 Python {python} cannot import torchrl: install the official requirements" in modules
    monkeypatch.setattr(official, "probe", lambda code, python: {"version": [3, 11], "missing": [], "cuda": False})
    (gpu,) = td.check()
    assert "No CUDA GPU" in gpu and "WORLDFLUX_TDMPC2_ALLOW_CPU=1" in gpu
    monkeypatch.setenv("WORLDFLUX_TDMPC2_ALLOW_CPU", "1")  # declared CPU-capable, but the checkout is not
    assert "is not a CPU copy" in td.check()[0]
    (checkout / "tdmpc2" / "train.py").write_text("import torch\n")
    assert td.check() == []


def test_launch_refuses_without_gpu_before_starting_anything(no_env, monkeypatch, fake_install, tmp_path):
    python, checkout = fake_install
    monkeypatch.setattr(official, "probe", lambda code, python: {"version": [3, 11], "missing": [], "cuda": False})

    def started(*args, **kwargs):
        raise AssertionError("a process was started")

    monkeypatch.setattr(bridge, "start_official_run", started)
    monkeypatch.setattr(bridge, "launch", started)
    run_dir = tmp_path / "run"
    config = TrainingConfig(env="dmc:walker-walk", steps=1000, run_dir=str(run_dir))
    with pytest.raises(BackendError, match="No CUDA GPU is visible") as info:
        td.launch(handle(python=str(python), checkout=str(checkout)), config)
    assert "allow_cpu=True" in str(info.value)
    assert not run_dir.exists()


def test_launch_refuses_unsupported_env_before_probing(no_env, monkeypatch, tmp_path):
    monkeypatch.setattr(official, "probe", lambda code, python: pytest.fail("probed"))
    with pytest.raises(ConfigError, match="Pendulum-v1"):
        td.launch(handle(), TrainingConfig(env="Pendulum-v1", run_dir=str(tmp_path / "run")))


# The end-to-end run acts with the policy prior only (official mpc=false): MPPI planning (mpc=true, the official
# default) costs seconds per action on CPU, far too slow for a test. WORLDFLUX_TDMPC2_TEST_MPC=1 plans instead
# (for a GPU machine).
E2E_MPC = os.environ.get("WORLDFLUX_TDMPC2_TEST_MPC", "").strip().lower() in td.TRUE


def test_end_to_end_short_official_run(tmp_path, monkeypatch):
    """A short real run of the official train.py (model_size 1, walker-walk, 1,200 random-action steps, policy
    evaluation) through the bridge; needs the official environment in WORLDFLUX_TDMPC2_* (a GPU, or a CPU copy
    made by ``python -m worldflux_backends.tdmpc2_cpu`` with WORLDFLUX_TDMPC2_ALLOW_CPU=1). Acts with
    ``mpc=false`` (policy prior only) unless WORLDFLUX_TDMPC2_TEST_MPC=1."""
    missing = td.check()
    if missing:
        pytest.skip("official TD-MPC2 environment not usable: " + " ".join(missing))
    if "metrics_format" not in inspect.signature(bridge.start_official_run).parameters:
        pytest.skip("worldflux_backends.bridge.start_official_run lacks metrics_format/more_metrics (the csv and "
                    "text metrics sources this backend follows)")
    monkeypatch.setenv("WORLDFLUX_HOME", str(tmp_path / "home"))
    config = TrainingConfig(env="dmc:walker-walk", steps=1200, seed=0, eval_every=1000, eval_episodes=1,
                            run_dir=str(tmp_path / "run"))
    mpc = f"mpc={'true' if E2E_MPC else 'false'}"
    started = time.monotonic()
    job = td.launch(handle(timeout_s=float(os.environ.get("WORLDFLUX_TDMPC2_TEST_TIMEOUT", 600)),
                           extra_args=[mpc]), config)
    status = job.wait(timeout=660)
    assert status == "finished", job.logs(tail=40)
    metrics = job.metrics()
    assert [r["step"] for r in metrics if "eval_return" in r] == [0, 1000]
    assert [r["step"] for r in metrics if "return" in r] == [500, 1000]
    assert all(isinstance(r["step"], int) for r in metrics)
    # the official logger saves the agent under its work dir, logs/<task>/<seed>/<exp_name>/models/
    final = tmp_path / "run" / "official" / "logs" / "walker-walk" / "0" / td.EXP_NAME / "models" / "final.pt"
    assert final.is_file()
    print(f"official TD-MPC2 run ({mpc}): {time.monotonic() - started:.1f} s, {metrics}")
