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
available, so without a GPU a launch is refused before anything starts. A CPU
copy of a checkout (device strings set to ``cpu``, no ``.to(device)`` of the
world model, Adam ``capturable=False``, no CUDA memory query, the CUDA assert in
``train.py`` removed) is made by ``python -m worldflux_backends.tdmpc2_cpu
CHECKOUT DEST`` (:mod:`worldflux_backends.tdmpc2_cpu`) and declared with
``allow_cpu=True`` or ``$WORLDFLUX_TDMPC2_ALLOW_CPU=1``; :func:`gpu_problems`
then checks that none of the lines a CPU run fails on (:data:`CUDA_MARKERS`)
remain.

Output: the official code's work directory is ``logs/<task>/<seed>/<exp_name>``
under its working directory ``RUN_DIR/official`` (:func:`work_dir`); it holds
``eval.csv`` and, at the end of a run, ``models/final.pt``.

Metrics: the official logger writes evaluations to
``logs/<task>/<seed>/<exp_name>/eval.csv`` (columns ``step,episode_reward``,
the whole file rewritten at each evaluation) and prints one console line per
training episode (``train E: <episode> I: <step> R: <return> ...``), which lands
in the run's ``logs.txt``. :func:`translate` turns both into native records:
``{"step", "eval_return"}`` and ``{"step", "return", "train/episode"}``.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

from worldflux.errors import BackendError, ConfigError
from worldflux_backends import official

NAME = "official_tdmpc2_torch_subprocess"
TRANSLATE = "worldflux_backends.tdmpc2_torch:translate"
EXP_NAME = "worldflux"
TRUE = ("1", "true", "yes", "on")
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

CODE = official.OfficialCode(
    name=NAME, label="TD-MPC2", repository="https://github.com/nicklashansen/tdmpc2",
    entries=("tdmpc2/train.py", "train.py"),  # the repository root, or its tdmpc2/ folder
    python_var="WORLDFLUX_TDMPC2_PYTHON", checkout_var="WORLDFLUX_TDMPC2_CHECKOUT",
    # modules the official train.py imports (directly or through its config's hydra launcher)
    required_modules=("torch", "hydra", "omegaconf", "tensordict", "torchrl", "termcolor", "pandas", "gymnasium",
                      "hydra_plugins.hydra_submitit_launcher"),
    install_hint="in a plain venv, the packages of the pip: section of its docker/environment.yaml, e.g. torch, "
                 "hydra-core, hydra-submitit-launcher, tensordict 0.8.3 with torchrl 0.8.1, gymnasium, termcolor, "
                 "pandas, dm-control",
    options=("allow_cpu", "extra_args"), model_fields=tuple(MODEL_OVERRIDES),
    refusal_hint="the architecture is the official model_size; extra_args passes any other hydra override",
    probe_cuda=True)
# what a CPU-capable checkout must no longer contain (files relative to the tdmpc2/ source folder); the CPU copy
# made by worldflux_backends.tdmpc2_cpu removes every one of them
CPU_COPY_COMMAND = "python -m worldflux_backends.tdmpc2_cpu CHECKOUT DEST"
CUDA_MARKERS = (
    ("train.py", "assert torch.cuda.is_available()"),
    ("tdmpc2.py", "cuda:0"),
    ("tdmpc2.py", "capturable=True"),
    ("tdmpc2.py", "WorldModel(cfg).to(self.device)"),  # fails on the CPU: to() meets the meta-device Q copies
    ("common/scale.py", "cuda:0"),
    ("common/buffer.py", "cuda:0"),
    ("common/buffer.py", "torch.cuda.mem_get_info()"),
)


# --- options and availability ---------------------------------------------------------------------------

def allow_cpu(s: official.Settings) -> bool:
    """Whether the checkout is declared CPU-capable: the option ``allow_cpu``, else ``$WORLDFLUX_TDMPC2_ALLOW_CPU``."""
    allow = s.extra.get("allow_cpu")
    if allow is None:
        allow = os.environ.get("WORLDFLUX_TDMPC2_ALLOW_CPU", "").strip().lower() in TRUE
    return bool(allow)


def extra_args(s: official.Settings) -> list[str]:
    """The option ``extra_args``: more hydra overrides (``key=value``), applied last."""
    extra = s.extra.get("extra_args") or []
    if isinstance(extra, str) or not all(isinstance(a, str) and "=" in a for a in extra):
        raise ConfigError(f"extra_args must be a list of hydra overrides such as ['horizon=5'], got {extra!r}")
    return list(extra)


def model_overrides(s: official.Settings) -> list[str]:
    """The shared model fields as the official overrides of the same settings."""
    return [f"{MODEL_OVERRIDES[k]}={_hydra(v)}" for k, v in s.model_changes.items()]


def _hydra(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def cuda_markers(script: Path) -> list[str]:
    """The lines a CPU run would fail on (:data:`CUDA_MARKERS`), as ``file: text``, in the checkout of ``script``."""
    found = []
    for rel, marker in CUDA_MARKERS:
        path = script.parent / rel
        try:
            if marker in path.read_text():
                found.append(f"{path}: {marker!r}")
        except OSError:
            continue
    return found


def gpu_problems(s: official.Settings, probe: Mapping[str, Any]) -> list[str]:
    """The official code hard-codes cuda:0: without a GPU, only a checkout made CPU-capable can run."""
    if probe.get("cuda"):
        return []
    if not allow_cpu(s):
        return [f"No CUDA GPU is visible to {s.python}, and the official TD-MPC2 code needs one (it hard-codes "
                f"cuda:0). Run on a GPU machine, or make a CPU copy of the checkout with `{CPU_COPY_COMMAND}`, "
                f"point WORLDFLUX_TDMPC2_CHECKOUT at DEST and set WORLDFLUX_TDMPC2_ALLOW_CPU=1 (or the options "
                f"checkout=DEST, allow_cpu=True)."]
    markers = cuda_markers(CODE.entry(s.checkout))
    if markers:
        return ["allow_cpu is set but the checkout is not a CPU copy: it still has lines that need CUDA or fail on "
                "the CPU (" + "; ".join(markers) + f"): make a CPU copy with `{CPU_COPY_COMMAND}` and use DEST "
                "as the checkout (it sets the devices to cpu and Adam capturable=False, and removes the model's "
                ".to(device), the CUDA assert and the CUDA memory query), or run on a GPU machine."]
    return []


def check() -> list[str]:
    """What this machine lacks to run the backend with the environment variables' settings (empty: available)."""
    s = official.settings(CODE)
    missing, probe = official.problems(CODE, s)
    return missing or (gpu_problems(s, probe) if probe is not None else [])


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
    if env_id.startswith("dmc:") and env_id.endswith(":pixels"):
        raise ConfigError(f"{env_id!r}: {NAME} trains DMC state tasks; pixels (the official obs=rgb) are not "
                          f"wired to it. Drop :pixels, or train it on the native backend")
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
    config = config.resolved()
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


def work_dir(official_dir: Path, overrides_: list[str]) -> Path:
    """The official ``cfg.work_dir`` of a run started in ``official_dir``: ``<cwd>/logs/<task>/<seed>/<exp_name>``
    (the official ``parse_cfg`` builds it from hydra's original working directory). It holds ``eval.csv`` and
    ``models/final.pt``, which the official logger saves at the end of the run (``save_agent=true``)."""
    return (official_dir / "logs" / _value(overrides_, "task") / _value(overrides_, "seed")
            / _value(overrides_, "exp_name"))


def eval_csv(official_dir: Path, overrides_: list[str]) -> Path:
    """Where the official logger writes evaluations: ``<cwd>/logs/<task>/<seed>/<exp_name>/eval.csv``."""
    return work_dir(official_dir, overrides_) / "eval.csv"


def final_model(official_dir: Path, overrides_: list[str]) -> Path:
    """Where the official logger saves the trained agent at the end: ``<work_dir>/models/final.pt``."""
    return work_dir(official_dir, overrides_) / "models" / "final.pt"


# --- launching -----------------------------------------------------------------------------------------

def launch(handle: Any, config: Any) -> Any:
    """Start the official ``train.py`` for ``handle`` (an OfficialBackendHandle) as ``config`` says; a Job."""
    def plan(s: official.Settings, script: Path, run_dir: Path) -> official.Plan:
        args = overrides(handle.model_id, config, model_overrides(s) + extra_args(s))
        cwd = run_dir / "official"
        if cwd.exists():
            raise ConfigError(f"{run_dir} already holds an official TD-MPC2 run (the official code cannot resume); "
                              f"choose another run_dir")
        env = {"NO_COLOR": "1", "WANDB_MODE": "disabled"}
        device = str(config.device)
        if device.startswith("cuda:"):  # the official code always uses cuda:0: show it only the chosen GPU
            env["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
        return official.Plan(command=[str(s.python), str(script), *args], cwd=cwd, env=env,
                             metrics_file=eval_csv(cwd, args), metrics_format="csv",
                             more_metrics=[(str(run_dir / "logs.txt"), "text")], translate=TRANSLATE,
                             info={"backend": NAME, "preset": handle.model_id, "checkout": str(Path(str(s.checkout)).resolve()),
                                   "allow_cpu": allow_cpu(s), "official_work_dir": str(work_dir(cwd, args)),
                                   "final_model": str(final_model(cwd, args))})

    return official.launch(CODE, handle, config, plan, more_problems=gpu_problems)


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
