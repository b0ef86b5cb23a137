"""The official DreamerV3 (JAX) backend: flag mapping, metrics translation, availability, and runs.

The unit tests need no JAX. ``test_fake_official_checkout_runs_as_a_job`` runs the
launcher and the bridge for real against a stand-in ``dreamerv3/main.py``. The
end-to-end test trains the real official code on CPU for a few hundred steps; it
runs only where WORLDFLUX_DREAMERV3_PYTHON and WORLDFLUX_DREAMERV3_CHECKOUT point
at a working set-up (see docs/backends.md).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import attrs
import pytest

from worldflux import create_world_model
from worldflux.backends import OfficialBackendHandle
from worldflux.errors import BackendError, ConfigError
from worldflux.training import Trainer, TrainingConfig
from worldflux_backends import dreamerv3_jax as dv3
from worldflux_backends.dreamerv3_jax import (
    CHECKOUT_VAR, NAME, PYTHON_VAR, check, device_flags, official_command, official_configs, official_task,
    translate,
)

CONFIG_NAMES = ("defaults", "size1m", "size12m", "size25m", "size50m", "size100m", "size200m", "size400m",
                "dmc_proprio", "debug")


def handle(preset: str = "dreamerv3:official_xl", **metadata: object) -> OfficialBackendHandle:
    return OfficialBackendHandle(backend=NAME, model_id=preset, profile=preset.split(":", 1)[-1], device="cpu",
                                 metadata=metadata)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLDFLUX_HOME", str(tmp_path / "home"))


# --- flag mapping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "task"), [
    ("CartPole-v1", "gym_CartPole-v1"),
    ("Pendulum-v1", "gym_Pendulum-v1"),
    ("dmc:walker-walk", "dmc_walker_walk"),
    ("dmc:cheetah-run", "dmc_cheetah_run"),
    ("dmc:finger-turn_hard", "dmc_finger_turn_hard"),
    ("dmc:ball_in_cup-catch", "dmc_cup_catch"),
    ("dmc:cup-catch", "dmc_cup_catch"),
    ("atari:pong", "atari_pong"),
    ("ALE/MsPacman-v5", "atari_ms_pacman"),
    ("crafter_reward", "crafter_reward"),
    ("atari100k_pong", "atari100k_pong"),
    ("gym_CartPole-v1", "gym_CartPole-v1"),
])
def test_env_ids_map_to_official_tasks(env: str, task: str) -> None:
    assert official_task(env) == task


@pytest.mark.parametrize("env", ["dmc:point_mass-easy", "dmc:walker", "dmc:walker-walk:pixels", "not an env",
                                 "foo_bar"])
def test_unmappable_env_ids_are_clear_errors(env: str) -> None:
    with pytest.raises(ConfigError, match="official"):
        official_task(env)


@pytest.mark.parametrize(("preset", "profile", "configs"), [
    ("dreamerv3:official_xl", None, []),
    ("dreamerv3:size12m", None, ["size12m"]),
    ("dreamerv3:size200m", None, ["size200m"]),
    ("dreamerv3:official_xl", "size1m", ["size1m"]),
    ("dreamerv3:size12m", "official_xl", []),
    ("dreamerv3:official_xl", "dmc_proprio, size12m", ["dmc_proprio", "size12m"]),
])
def test_presets_and_profiles_map_to_official_configs(preset: str, profile: str | None, configs: list[str]) -> None:
    config = TrainingConfig(env="CartPole-v1", backend_profile=profile)
    assert official_configs(handle(preset), config, CONFIG_NAMES) == configs


def test_an_unknown_profile_names_the_official_configs() -> None:
    with pytest.raises(ConfigError, match="no config 'size3m'.*size1m"):
        official_configs(handle(), TrainingConfig(env="CartPole-v1", backend_profile="size3m"), CONFIG_NAMES)


def test_devices_map_to_jax_platforms() -> None:
    assert device_flags("cpu") == (["--jax.platform", "cpu", "--jax.compute_dtype", "float32"],
                                   {"JAX_PLATFORMS": "cpu"})
    assert device_flags("cuda") == (["--jax.platform", "cuda"], {})
    assert device_flags("cuda:1") == (["--jax.platform", "cuda"], {"CUDA_VISIBLE_DEVICES": "1"})
    with pytest.raises(ConfigError, match="cpu, cuda or cuda:N"):
        device_flags("mps")


def test_training_config_and_model_fields_map_to_official_flags(tmp_path: Path) -> None:
    config = TrainingConfig(env="dmc:walker-walk", steps=5000, seed=3, train_ratio=512, num_envs=4)
    command, env = official_command(handle("dreamerv3:size12m"), config, python="/py", checkout="/co",
                                    logdir=tmp_path / "official", device="cpu", extra_flags=["--run.log_every", "5"],
                                    available=CONFIG_NAMES, model_changes={"warmup": 100, "lr": 3e-4})
    assert command == ["/py", "/co/dreamerv3/main.py", "--configs", "size12m", "--task", "dmc_walker_walk",
                       "--seed", "3", "--run.steps", "5000", "--logdir", str(tmp_path / "official"),
                       "--logger.outputs", "jsonl", "--run.train_ratio", "512.0", "--run.envs", "4",
                       "--agent.opt.lr", "0.0003", "--agent.opt.warmup", "100", "--jax.platform", "cpu",
                       "--jax.compute_dtype", "float32", "--run.log_every", "5"]
    assert env == {"JAX_PLATFORMS": "cpu"}


def test_official_xl_passes_no_size_config_and_needs_an_env(tmp_path: Path) -> None:
    command, _ = official_command(handle(), TrainingConfig(env="CartPole-v1"), python="/py", checkout="/co",
                                  logdir=tmp_path, device="cuda")
    assert "--configs" not in command and "--run.train_ratio" not in command
    assert command[-2:] == ["--jax.platform", "cuda"]
    with pytest.raises(ConfigError, match="TrainingConfig.env is required"):
        official_command(handle(), TrainingConfig(), python="/py", checkout="/co", logdir=tmp_path, device="cpu")


# --- metrics translation -----------------------------------------------------------------------------


def test_episode_lines_become_returns() -> None:
    assert translate({"step": 61, "episode/score": 15.0, "episode/length": 16.0}) == {
        "step": 61, "return": 15.0, "length": 16.0}


def test_train_lines_keep_the_native_dreamer_names() -> None:
    record = translate({"step": 1704, "train/loss/dyn": 5.75, "train/loss/rep": 5.75, "train/loss/image": 1.4,
                        "train/loss/rew": 5.54, "train/loss/con": 0.72, "train/loss/policy": -0.001,
                        "train/loss/value": 0.7, "train/loss/repval": 10.6, "train/opt/loss": 17.9,
                        "train/ret": -0.016, "train/adv_mag": 0.15, "train/ent/action": 0.693,
                        "fps/policy": 78.4, "fps/train": 659.8, "replay/items": 1448.0,
                        "usage/psutil/proc_ram_gb": 0.67})
    assert record == {"step": 1704, "train/loss/dyn": 5.75, "train/loss/rep": 5.75, "train/loss/image": 1.4,
                      "train/loss/rew": 5.54, "train/loss/con": 0.72, "train/loss/policy": -0.001,
                      "train/loss/value": 0.7, "train/loss/repval": 10.6, "train/loss/rec": 1.4,
                      "train/loss": 17.9, "train/ret": -0.016, "train/adv_mag": 0.15, "train/entropy": 0.693,
                      "env_steps_per_s": 78.4}


def test_reconstruction_losses_of_several_obs_keys_are_summed() -> None:
    record = translate({"step": 5, "train/loss/image": 1.0, "train/loss/position": 0.25, "train/loss/dyn": 2.0})
    assert record is not None and record["train/loss/rec"] == 1.25


def test_lines_without_native_metrics_are_skipped() -> None:
    assert translate({"step": 10, "replay/items": 3.0, "usage/psutil/total_cpu_frac": 0.5}) is None
    assert translate({"step": 10, "report/loss/dyn": 1.0}) is None


# --- availability ------------------------------------------------------------------------------------


def test_check_names_what_is_missing_when_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PYTHON_VAR, raising=False)
    monkeypatch.delenv(CHECKOUT_VAR, raising=False)
    assert check() == [
        "No checkout of the official DreamerV3 is set: clone https://github.com/danijar/dreamerv3 and set "
        "WORLDFLUX_DREAMERV3_CHECKOUT (or pass checkout=... to create_world_model) to it; see docs/backends.md.",
        "No Python for the official DreamerV3 is set: set WORLDFLUX_DREAMERV3_PYTHON (or pass python=... to "
        "create_world_model) to the interpreter of an environment with its requirements; see docs/backends.md.",
    ]


def test_check_names_paths_that_point_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PYTHON_VAR, str(tmp_path / "nope" / "python"))
    monkeypatch.setenv(CHECKOUT_VAR, str(tmp_path / "nowhere"))
    assert check() == [
        f"{tmp_path / 'nowhere' / 'dreamerv3' / 'main.py'} not found: WORLDFLUX_DREAMERV3_CHECKOUT must be the "
        f"root of a clone of https://github.com/danijar/dreamerv3; see docs/backends.md.",
        f"The DreamerV3 Python {tmp_path / 'nope' / 'python'} (from WORLDFLUX_DREAMERV3_PYTHON) is not an "
        f"executable file; set it to the interpreter of an environment with the official requirements; "
        f"see docs/backends.md.",
    ]


def test_check_names_the_official_requirements_the_interpreter_lacks(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_checkout(tmp_path)
    monkeypatch.setenv(CHECKOUT_VAR, str(fake))
    monkeypatch.setenv(PYTHON_VAR, sys.executable)
    monkeypatch.setattr(dv3, "CODE", attrs.evolve(dv3.CODE, required_modules=("json", "worldflux_no_such_module")))
    assert check() == [
        f"The DreamerV3 Python {sys.executable} cannot import worldflux_no_such_module: install the official "
        f"requirements into that environment (for CPU: pip install \"jax[cpu]==0.4.33\" \"numpy<2\" "
        f"\"elements>=3.19.1\" \"ninjax>=3.5.1\" \"portal>=3.5.0\" optax chex einops ruamel.yaml cloudpickle "
        f"psutil pillow gym==0.25.2); see docs/backends.md."]
    monkeypatch.setattr(dv3, "CODE", attrs.evolve(dv3.CODE, required_modules=("json",)))
    assert check() == []


def test_check_and_translate_do_not_import_torch() -> None:
    """`worldflux backends list` imports the check: it must stay light."""
    import subprocess

    code = "import sys, worldflux_backends.dreamerv3_jax as m; m.check(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, PYTHON_VAR: "", CHECKOUT_VAR: ""})
    assert out.stdout.strip() == "False", out.stderr


def test_the_backend_rejects_presets_it_does_not_run() -> None:
    with pytest.raises(BackendError, match="does not run 'dreamer:ci'.*dreamerv3:official_xl"):
        create_world_model("dreamer:ci", backend=NAME)


def test_options_reach_the_handle_and_unknown_ones_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    h = create_world_model("dreamerv3:size12m", backend="official_dreamerv3_jax_subprocess", python="/py",
                           checkout="/co", timeout_s=60, extra_flags=["--run.envs", "1"])
    assert h.backend == NAME and h.profile == "size12m"
    assert dict(h.metadata) == {"python": "/py", "checkout": "/co", "timeout_s": 60, "extra_flags": ["--run.envs", "1"]}
    bad = create_world_model("dreamerv3:size12m", backend=NAME, units=3)
    with pytest.raises(ConfigError, match="takes the options python, checkout, timeout_s, extra_flags and the model "
                                          "fields lr, warmup, .*, not units"):
        Trainer(bad, TrainingConfig(env="CartPole-v1")).submit()


def test_launch_without_a_setup_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PYTHON_VAR, raising=False)
    monkeypatch.delenv(CHECKOUT_VAR, raising=False)
    h = create_world_model("dreamerv3:official_xl", backend=NAME)
    with pytest.raises(BackendError, match=r"cannot run on this machine:\n- No checkout .*\n- No Python"):
        Trainer(h, TrainingConfig(env="CartPole-v1", run_dir=str(tmp_path / "run"))).submit()


# --- a job against a stand-in checkout ----------------------------------------------------------------

FAKE_MAIN = '''
import json, pathlib, sys
args = sys.argv[1:]
logdir = pathlib.Path(args[args.index("--logdir") + 1])
logdir.mkdir(parents=True, exist_ok=True)
(logdir / "argv.json").write_text(json.dumps(args))
with open(logdir / "metrics.jsonl", "a") as f:
    f.write(json.dumps({"step": 12, "episode/score": 11.0, "episode/length": 12.0}) + "\\n")
    f.write(json.dumps({"step": 30, "replay/items": 30.0}) + "\\n")
    f.write(json.dumps({"step": 40, "train/loss/dyn": 5.5, "train/loss/image": 1.5, "fps/policy": 9.0}) + "\\n")
'''


def _fake_checkout(root: Path) -> Path:
    checkout = root / "checkout"
    (checkout / "dreamerv3").mkdir(parents=True)
    (checkout / "dreamerv3" / "main.py").write_text(FAKE_MAIN)
    (checkout / "dreamerv3" / "configs.yaml").write_text("".join(f"{n}:\n  x: 1\n" for n in CONFIG_NAMES))
    return checkout


def test_fake_official_checkout_runs_as_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = _fake_checkout(tmp_path)
    monkeypatch.setattr(dv3, "CODE", attrs.evolve(dv3.CODE, required_modules=("json",)))
    h = create_world_model("dreamerv3:size12m", backend=NAME, python=sys.executable, checkout=str(checkout))
    run_dir = tmp_path / "run"
    job = Trainer(h, TrainingConfig(env="CartPole-v1", steps=40, seed=1, run_dir=str(run_dir))).submit()
    assert job.wait(timeout=60) == "finished", job.error()
    assert job.metrics() == [{"step": 12, "return": 11.0, "length": 12.0},
                             {"step": 40, "train/loss/dyn": 5.5, "train/loss/image": 1.5, "train/loss/rec": 1.5,
                              "env_steps_per_s": 9.0}]
    argv = json.loads((run_dir / "official" / "argv.json").read_text())
    assert argv[:4] == ["--configs", "size12m", "--task", "gym_CartPole-v1"]
    assert argv[argv.index("--logdir") + 1] == str(run_dir.resolve() / "official")
    info = json.loads((run_dir / "backend.json").read_text())
    assert info["handle"]["model_id"] == "dreamerv3:size12m" and info["training"]["steps"] == 40
    # Launching again into the same run directory (the official run resumes) rebuilds the native metrics.
    job = Trainer(h, TrainingConfig(env="CartPole-v1", steps=40, seed=1, run_dir=str(run_dir))).submit()
    assert job.wait(timeout=60) == "finished", job.error()
    assert [r["step"] for r in job.metrics()] == [12, 40, 12, 40]


# --- the real official code ----------------------------------------------------------------------------


def _official_setup() -> list[str]:
    if not os.environ.get(PYTHON_VAR) or not os.environ.get(CHECKOUT_VAR):
        return [f"{PYTHON_VAR} and {CHECKOUT_VAR} are not both set"]
    return check()


def test_the_official_dreamerv3_trains_on_cartpole_on_cpu(tmp_path: Path) -> None:
    missing = _official_setup()
    if missing:
        pytest.skip("the official DreamerV3 is not set up here: " + " ".join(missing))
    h = create_world_model("dreamerv3:official_xl", backend=NAME, timeout_s=1500,
                           extra_flags=["--run.envs", "4", "--run.log_every", "10"])
    # size1m: the smallest official model. Training starts once replay holds 16 x 64 steps (after about a minute
    # of JIT); the first train record comes one log interval later. Then cancel: the official code must die.
    config = TrainingConfig(env="CartPole-v1", steps=5000, backend_profile="size1m", run_dir=str(tmp_path / "run"))
    job = Trainer(h, config).submit()
    deadline = time.monotonic() + 900
    while not any("train/loss/dyn" in r for r in job.metrics()):
        assert job.status() in ("starting", "running"), job.error()
        assert time.monotonic() < deadline, job.logs(tail=30)
        time.sleep(2)
    assert job.cancel(timeout=60) == "cancelled"
    deadline = time.monotonic() + 30  # the official code's own subprocesses die (and are reaped) a moment later
    with pytest.raises(ProcessLookupError):
        while time.monotonic() < deadline:
            os.killpg(job.info["pgid"], 0)
            time.sleep(0.5)
    metrics = job.metrics()
    assert all(isinstance(r["step"], int) for r in metrics)
    assert any("return" in r and "length" in r for r in metrics)
    train = next(r for r in metrics if "train/loss/dyn" in r)
    assert {"train/loss/rew", "train/loss/rec", "train/loss", "env_steps_per_s"} <= set(train)
