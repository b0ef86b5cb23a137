"""Backend ``official_tdmpc2_torch_subprocess``: the official TD-MPC2 code (nicklashansen/tdmpc2), run as is.

The official ``tdmpc2/train.py`` runs in its own Python environment, as a child
of the run bridge (:func:`worldflux_backends.bridge.start_official_run`), with
its working directory at ``RUN_DIR/official``. Where it is found:

- ``python``: the interpreter of its environment (option ``python=`` of
  ``create_world_model``, else ``$WORLDFLUX_TDMPC2_PYTHON``);
- ``checkout``: a clone of the repository, holding ``tdmpc2/train.py``
  (option ``checkout=``, else ``$WORLDFLUX_TDMPC2_CHECKOUT``).

Other options: ``timeout_s`` (seconds before the run is stopped and marked
failed), ``extra_args`` (more hydra overrides, ``key=value``, applied last),
``allow_cpu``, and the native config fields of :data:`MODEL_OVERRIDES`
(``batch_size=64``, ``lr=...``), which become the official overrides of the same
settings. The official code hard-codes ``cuda:0`` and asserts that CUDA is
available, so without a GPU a launch is refused before anything starts. A user
who has made the checkout CPU-capable (device strings set to ``cpu``, Adam
``capturable=False``, the CUDA assert in ``train.py`` removed) declares it with
``allow_cpu=True`` or ``$WORLDFLUX_TDMPC2_ALLOW_CPU=1``.

Metrics: the official logger writes evaluations to
``logs/<task>/<seed>/<exp_name>/eval.csv`` (columns ``step,episode_reward``,
the whole file rewritten at each evaluation) and prints one console line per
training episode (``train E: <episode> I: <step> R: <return> ...``), which lands
in the run's ``logs.txt``. :func:`translate` turns both into native records:
``{"step", "eval_return"}`` and ``{"step", "return", "train/episode"}``.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Mapping

from worldflux.errors import BackendError, ConfigError

NAME = "official_tdmpc2_torch_subprocess"
KIND = NAME
TRANSLATE = "worldflux_backends.tdmpc2_torch:translate"
EXP_NAME = "worldflux"
PROBE_TIMEOUT_S = 120.0
TRUE = ("1", "true", "yes", "on")

OPTIONS = ("python", "checkout", "allow_cpu", "timeout_s", "extra_args")
# Native TDMPC2Config fields that the official config.yaml has too (name there), beside the architecture, which the
# official model_size fixes; set on create_world_model, they reach both sides of a comparison.
MODEL_OVERRIDES = {name: name for name in (
    "lr", "batch_size", "horizon", "rho", "consistency_coef", "reward_coef", "value_coef", "termination_coef",
    "entropy_coef", "tau", "enc_lr_scale", "grad_clip_norm", "mpc", "iterations", "num_samples", "num_elites",
    "num_pi_trajs", "temperature", "min_std", "max_std", "discount_denom", "discount_min", "discount_max",
    "log_std_min", "log_std_max", "episodic", "dropout")}
MODEL_SIZES = {
    "tdmpc2:1m": 1,
    "tdmpc2:5m": 5,
    "tdmpc2:proof_5m": 5,
    "tdmpc2:19m": 19,
    "tdmpc2:48m": 48,
    "tdmpc2:317m": 317,
}

# gymnasium ids the official code builds itself (tdmpc2/envs/mujoco.py), by its task name
GYM_TASKS = {
    "Walker2d-v4": "mujoco-walker",
    "HalfCheetah-v4": "mujoco-halfcheetah",
    "BipedalWalker-v3": "bipedal-walker",
    "LunarLanderContinuous-v2": "lunarlander-continuous",
}
DMC_DOMAINS = {"ball_in_cup": "cup", "point_mass": "pointmass"}  # the official code's short domain names
SUPPORTED_ENVS = (
    "dmc:<domain>-<task> (DeepMind Control, e.g. dmc:walker-walk, dmc:cup-catch, and the official custom tasks "
    "such as dmc:cheetah-run-backwards); metaworld:<task> (Meta-World, e.g. metaworld:assembly, run as "
    "mw-assembly); the gymnasium ids " + ", ".join(GYM_TASKS) + "; or tdmpc2:<official task name> "
    "(passed through as is, e.g. tdmpc2:myo-reach, tdmpc2:lift-cube)"
)

# modules the official train.py imports (directly or through its config's hydra launcher)
REQUIRED_MODULES = ("torch", "hydra", "omegaconf", "tensordict", "torchrl", "termcolor", "pandas", "gymnasium",
                    "hydra_plugins.hydra_submitit_launcher")
PROBE = """
import importlib, json
missing = []
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except Exception as exc:
        missing.append(name + " (" + type(exc).__name__ + ": " + str(exc)[:120] + ")")
cuda = None
try:
    import torch
    cuda = bool(torch.cuda.is_available())
except Exception:
    pass
print("WORLDFLUX_PROBE " + json.dumps({{"missing": missing, "cuda": cuda}}))
"""
# what a CPU-capable checkout must no longer contain (files relative to the tdmpc2/ source folder)
CUDA_MARKERS = (
    ("train.py", "assert torch.cuda.is_available()"),
    ("tdmpc2.py", "cuda:0"),
    ("common/scale.py", "cuda:0"),
    ("common/buffer.py", "cuda:0"),
    ("common/buffer.py", "torch.cuda.mem_get_info()"),
)


# --- options ------------------------------------------------------------------------------------------

def options(metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The backend options: ``metadata`` (from ``create_world_model``) first, then the environment variables.

    Keys that are native TDMPC2Config fields of :data:`MODEL_OVERRIDES` become hydra overrides of the same
    setting (``model_overrides``); any other unknown key is refused.
    """
    metadata = dict(metadata or {})
    unknown = sorted(set(metadata) - set(OPTIONS) - set(MODEL_OVERRIDES))
    if unknown:
        raise ConfigError(f"{NAME} takes the options {', '.join(OPTIONS)} and the model fields "
                          f"{', '.join(MODEL_OVERRIDES)}, not {', '.join(unknown)} (the architecture is the "
                          f"official model_size; extra_args passes any other hydra override)")
    allow = metadata.get("allow_cpu")
    if allow is None:
        allow = os.environ.get("WORLDFLUX_TDMPC2_ALLOW_CPU", "").strip().lower() in TRUE
    extra = metadata.get("extra_args") or []
    if isinstance(extra, str) or not all(isinstance(a, str) and "=" in a for a in extra):
        raise ConfigError(f"extra_args must be a list of hydra overrides such as ['horizon=5'], got {extra!r}")
    timeout = metadata.get("timeout_s")
    return {
        "python": metadata.get("python") or os.environ.get("WORLDFLUX_TDMPC2_PYTHON") or None,
        "checkout": metadata.get("checkout") or os.environ.get("WORLDFLUX_TDMPC2_CHECKOUT") or None,
        "allow_cpu": bool(allow),
        "timeout_s": None if timeout is None else float(timeout),
        "extra_args": list(extra),
        "model_overrides": [f"{MODEL_OVERRIDES[k]}={_hydra(v)}" for k, v in sorted(metadata.items())
                            if k in MODEL_OVERRIDES],
    }


def _hydra(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def train_script(checkout: str | Path) -> Path | None:
    """The official ``train.py`` of ``checkout`` (the repository root, or its ``tdmpc2/`` folder), if present."""
    for candidate in (Path(checkout) / "tdmpc2" / "train.py", Path(checkout) / "train.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def probe(python: str, timeout_s: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
    """Ask ``python`` which required modules it lacks and whether CUDA is available (one subprocess)."""
    try:
        done = subprocess.run([python, "-c", PROBE.format(modules=REQUIRED_MODULES)], capture_output=True,
                              text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"error": f"{python} did not answer within {timeout_s:.0f} s (importing torch and hydra)"}
    except OSError as exc:
        return {"error": f"could not run {python}: {exc}"}
    for line in done.stdout.splitlines():
        if line.startswith("WORLDFLUX_PROBE "):
            return json.loads(line.removeprefix("WORLDFLUX_PROBE "))
    return {"error": f"{python} exited with code {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}"}


def cuda_markers(script: Path) -> list[str]:
    """The CUDA-only lines a CPU run would hit, as ``file: text``, in the checkout of ``script``."""
    found = []
    for rel, marker in CUDA_MARKERS:
        path = script.parent / rel
        try:
            if marker in path.read_text():
                found.append(f"{path}: {marker!r}")
        except OSError:
            continue
    return found


def problems(opts: Mapping[str, Any]) -> tuple[list[str], dict[str, Any] | None]:
    """What keeps ``opts`` from running (actionable sentences) and the interpreter's probe, if it got that far."""
    missing = []
    python, checkout = opts["python"], opts["checkout"]
    if not python:
        missing.append("No interpreter for the official TD-MPC2 code: set WORLDFLUX_TDMPC2_PYTHON (or the option "
                       "python=) to the python of an environment built from its docker/environment.yaml.")
    elif not (Path(python).is_file() and os.access(python, os.X_OK)):
        missing.append(f"The TD-MPC2 interpreter {python} is not an executable file: point "
                       f"WORLDFLUX_TDMPC2_PYTHON (or python=) at the python of the official environment.")
    if not checkout:
        missing.append("No checkout of the official code: `git clone https://github.com/nicklashansen/tdmpc2` and set "
                       "WORLDFLUX_TDMPC2_CHECKOUT (or the option checkout=) to it.")
    elif train_script(checkout) is None:
        missing.append(f"{checkout} holds no tdmpc2/train.py: set WORLDFLUX_TDMPC2_CHECKOUT (or checkout=) to a "
                       f"clone of https://github.com/nicklashansen/tdmpc2.")
    if missing:
        return missing, None
    found = probe(python)
    if "error" in found:
        return [f"The TD-MPC2 interpreter failed its check: {found['error']}."], found
    if found["missing"]:
        missing.append(f"{python} cannot import {', '.join(found['missing'])}: install the official environment "
                       f"(tdmpc2 docker/environment.yaml: torch, hydra-core, hydra-submitit-launcher, tensordict "
                       f"0.8.3, torchrl 0.8.1, gymnasium, termcolor, pandas) into it.")
    if not found["cuda"]:
        if not opts["allow_cpu"]:
            missing.append(f"No CUDA GPU is visible to {python}, and the official TD-MPC2 code needs one (it "
                           f"hard-codes cuda:0). Run on a GPU machine, or make the checkout CPU-capable and "
                           f"declare it with WORLDFLUX_TDMPC2_ALLOW_CPU=1 (or the option allow_cpu=True).")
        else:
            markers = cuda_markers(train_script(checkout))
            if markers:
                missing.append("allow_cpu is set but the checkout still requires CUDA (" + "; ".join(markers) +
                               "): make those lines CPU-safe (devices cpu, Adam capturable=False, no CUDA assert or CUDA memory "
                               "query), or run on a GPU machine.")
    return missing, found


def check() -> list[str]:
    """What this machine lacks to run the backend with the environment variables' settings (empty: available)."""
    return problems(options())[0]


# --- mapping WorldFlux to the official configuration ----------------------------------------------------

def model_size(preset: str) -> int:
    """The official ``model_size`` of a WorldFlux TD-MPC2 preset."""
    try:
        return MODEL_SIZES[preset]
    except KeyError:
        raise BackendError(f"{NAME} runs the presets {', '.join(MODEL_SIZES)}; not {preset!r}") from None


def official_task(env_id: str | None) -> str:
    """The official task name of a WorldFlux env id."""
    if not env_id:
        raise ConfigError(f"TrainingConfig.env is required by {NAME}; supported: {SUPPORTED_ENVS}")
    if env_id.startswith("dmc:"):
        name = env_id.removeprefix("dmc:")
        domain, sep, task = name.partition("-")
        if not sep or not domain or not task:
            raise ConfigError(f"{env_id!r} is not dmc:<domain>-<task>; supported: {SUPPORTED_ENVS}")
        return f"{DMC_DOMAINS.get(domain, domain)}-{task.replace('_', '-')}"
    if env_id.startswith("metaworld:"):
        task = env_id.removeprefix("metaworld:").removeprefix("mw-")
        if task:
            return f"mw-{task}"
    if env_id.startswith("tdmpc2:"):
        task = env_id.removeprefix("tdmpc2:")
        if task:
            return task
    if env_id in GYM_TASKS:
        return GYM_TASKS[env_id]
    raise ConfigError(f"The official TD-MPC2 code cannot run {env_id!r}. Supported: {SUPPORTED_ENVS}.")


def overrides(preset: str, config: Any, extra_args: list[str] = ()) -> list[str]:
    """The hydra overrides of ``train.py`` for ``preset`` trained as ``config`` (a TrainingConfig)."""
    unsupported = []
    if config.num_envs != 1:
        unsupported.append(f"num_envs={config.num_envs} (the official trainer steps one environment)")
    if config.train_ratio is not None:
        unsupported.append(f"train_ratio={config.train_ratio} (the official trainer does one update per step)")
    if config.seed_steps is not None:
        unsupported.append(f"seed_steps={config.seed_steps} (the official code fixes max(1000, 5 x episode "
                           f"length))")
    if config.precision != "fp32":
        unsupported.append(f"precision={config.precision!r} (the official code trains in fp32)")
    if unsupported:
        raise ConfigError(f"{NAME} cannot honour TrainingConfig " + "; ".join(unsupported) +
                          ": leave them at their defaults")
    # eval_every=0 (never): the official loop evaluates when step % eval_freq == 0, so step 0 only
    eval_freq = config.eval_every if config.eval_every > 0 else config.steps + 1
    return [
        f"task={official_task(config.env)}",
        f"model_size={model_size(preset)}",
        f"steps={config.steps}",
        f"seed={config.seed}",
        f"eval_freq={eval_freq}",
        f"eval_episodes={config.eval_episodes}",
        f"buffer_size={config.replay_capacity}",
        f"compile={'true' if config.compile else 'false'}",
        "enable_wandb=false",
        "save_video=false",
        f"exp_name={EXP_NAME}",
        "hydra.run.dir=hydra",
        *extra_args,
    ]


def _value(overrides_: list[str], key: str) -> str:
    return [o.split("=", 1)[1] for o in overrides_ if o.split("=", 1)[0] == key][-1]


def eval_csv(official_dir: Path, overrides_: list[str]) -> Path:
    """Where the official logger writes evaluations: ``<cwd>/logs/<task>/<seed>/<exp_name>/eval.csv``."""
    return (official_dir / "logs" / _value(overrides_, "task") / _value(overrides_, "seed")
            / _value(overrides_, "exp_name") / "eval.csv")


# --- launching -----------------------------------------------------------------------------------------

def launch(handle: Any, config: Any) -> Any:
    """Start the official ``train.py`` for ``handle`` (an OfficialBackendHandle) as ``config`` says; a Job."""
    from worldflux.training.rundir import RunDir, default_run_dir

    from worldflux_backends.bridge import start_official_run

    opts = options(handle.metadata)
    args = overrides(handle.model_id, config, opts["model_overrides"] + opts["extra_args"])  # no probe needed
    missing, found = problems(opts)
    if missing:
        raise BackendError(f"Cannot launch {handle.model_id} on {NAME}: " + " ".join(missing))
    run_dir = Path(config.run_dir or default_run_dir(handle.model_id, config.env)).resolve()
    official = run_dir / "official"
    if official.exists():
        raise ConfigError(f"{run_dir} already holds an official TD-MPC2 run (the official code cannot resume); "
                          f"choose another run_dir")
    official.mkdir(parents=True)
    RunDir(run_dir).write_config(config, handle.model_id)
    env = {"NO_COLOR": "1", "WANDB_MODE": "disabled"}
    device = str(config.device)
    if device.startswith("cuda:"):  # the official code always uses cuda:0: show it only the chosen GPU
        env["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
    script = train_script(opts["checkout"])
    command = [str(opts["python"]), str(script), *args]
    return start_official_run(
        run_dir,
        command=command,
        cwd=str(official),
        env=env,
        metrics_file=eval_csv(official, args),
        metrics_format="csv",
        more_metrics=[(str(run_dir / "logs.txt"), "text")],
        translate=TRANSLATE,
        timeout_s=opts["timeout_s"],
        kind=KIND,
        info={"backend": NAME, "preset": handle.model_id, "checkout": str(Path(opts["checkout"]).resolve()),
              "cuda": bool(found and found.get("cuda")), "allow_cpu": opts["allow_cpu"]},
    )


# --- metrics --------------------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")
NUMBER = r"(-?(?:\d[\d,]*)(?:\.\d+)?|nan|-?inf)"
TRAIN_LINE = re.compile(rf"^\s*train\s+E:\s*{NUMBER}\s+I:\s*{NUMBER}\s+R:\s*{NUMBER}(?:\s+S:\s*{NUMBER})?")


def _number(text: str) -> float:
    return float(str(text).replace(",", ""))


def translate(record: dict[str, Any]) -> dict[str, Any] | None:
    """One official record as a native one, or None to skip it.

    ``{"step": "1000.0", "episode_reward": "12.5"}`` (an ``eval.csv`` row) gives
    ``{"step": 1000, "eval_return": 12.5}``; ``{"line": " train  E: 2  I: 1,000
    R: 3.1 ..."}`` (a console line) gives ``{"step": 1000, "return": 3.1,
    "train/episode": 2.0}``. Other lines (evaluations, which ``eval.csv`` holds
    at full precision, and everything else) are skipped.
    """
    if "line" in record:
        match = TRAIN_LINE.match(ANSI.sub("", str(record["line"])))
        if not match:
            return None
        episode, step, ret, success = match.groups()
        out: dict[str, Any] = {"step": int(_number(step)), "return": _number(ret), "train/episode": _number(episode)}
        if success is not None and math.isfinite(_number(success)):
            out["train/episode_success"] = _number(success)
        return out
    if "step" in record and "episode_reward" in record:
        return {"step": int(_number(record["step"])), "eval_return": _number(record["episode_reward"])}
    return None
