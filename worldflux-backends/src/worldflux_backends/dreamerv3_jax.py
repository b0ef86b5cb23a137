"""The official DreamerV3 (danijar/dreamerv3, JAX) run as a subprocess in its own Python environment.

The official code is not installed into WorldFlux's environment: point the
backend at an interpreter that has its requirements (``python``) and at a clone
of the repository (``checkout``), either as ``create_world_model`` options or
through ``WORLDFLUX_DREAMERV3_PYTHON`` and ``WORLDFLUX_DREAMERV3_CHECKOUT``.
:func:`launch` maps the preset and the :class:`TrainingConfig` onto the official
``dreamerv3/main.py`` flags and runs it under the bridge, which translates the
official ``metrics.jsonl`` into the run's native metrics (:func:`translate`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from worldflux.config import config_to_dict
from worldflux.errors import ConfigError
from worldflux_backends import official

if TYPE_CHECKING:  # worldflux.training imports torch: only launch() needs it, not check() or translate()
    from worldflux.backends import OfficialBackendHandle
    from worldflux.runs import Job
    from worldflux.training.config import TrainingConfig

NAME = "worldflux_dreamerv3_jax_subprocess"
ALIAS = "official_dreamerv3_jax_subprocess"
PYTHON_VAR = "WORLDFLUX_DREAMERV3_PYTHON"
CHECKOUT_VAR = "WORLDFLUX_DREAMERV3_CHECKOUT"
# Native DreamerV3Config fields that may be changed on the official side too, and the official flag of each.
# The architecture comes from the preset's official size config; other fields keep the official defaults.
MODEL_FLAGS = {
    "lr": "--agent.opt.lr", "warmup": "--agent.opt.warmup", "agc": "--agent.opt.agc", "eps": "--agent.opt.eps",
    "beta1": "--agent.opt.beta1", "beta2": "--agent.opt.beta2", "batch_size": "--batch_size",
    "batch_length": "--batch_length", "imag_horizon": "--agent.imag_length", "horizon": "--agent.horizon",
    "return_lambda": "--agent.imag_loss.lam", "actor_entropy": "--agent.imag_loss.actent",
    "slow_rate": "--agent.slowvalue.rate", "free_nats": "--agent.dyn.rssm.free_nats",
}
OFFICIAL_DIR = "official"  # the official --logdir, inside the run directory
CODE = official.OfficialCode(
    name=NAME, label="DreamerV3", repository="https://github.com/danijar/dreamerv3", entries=("dreamerv3/main.py",),
    python_var=PYTHON_VAR, checkout_var=CHECKOUT_VAR,
    required_modules=("jax", "elements", "ninjax", "portal", "optax", "chex", "einops", "ruamel.yaml"),
    install_hint='for CPU: pip install "jax[cpu]==0.4.33" "numpy<2" "elements>=3.19.1" "ninjax>=3.5.1" '
                 '"portal>=3.5.0" optax chex einops ruamel.yaml cloudpickle psutil pillow gym==0.25.2',
    options=("extra_flags",), model_fields=tuple(MODEL_FLAGS),
    refusal_hint="the architecture comes from the official size config; use TrainingConfig.backend_profile or "
                 "extra_flags",
    min_python=(3, 11), probe_env={"JAX_PLATFORMS": "cpu"}, probe_timeout_s=60.0)
# Official task suites (the part of --task before the first "_"), passed through unchanged.
SUITES = ("dummy", "gym", "dm", "crafter", "dmc", "atari", "atari100k", "dmlab", "minecraft", "loconav",
          "pinpad", "langroom", "procgen", "bsuite", "memmaze")
# Profiles meaning "the official defaults" (= size200m), i.e. no size config.
DEFAULT_PROFILES = ("official_xl", "defaults")
# Losses that are not reconstruction losses; every other train/loss/<key> is one obs key's decoder loss.
NON_RECONSTRUCTION = ("dyn", "rep", "rew", "con", "policy", "value", "repval")


# --- availability -----------------------------------------------------------------------------------


def check() -> list[str]:
    """What this machine lacks to run the official DreamerV3 as configured by the environment variables."""
    return official.problems(CODE, official.settings(CODE))[0]


# --- mapping to official flags ----------------------------------------------------------------------


def official_task(env: str) -> str:
    """The official ``--task`` for a WorldFlux env id.

    ``CartPole-v1`` (gymnasium id) -> ``gym_CartPole-v1``; ``dmc:walker-walk`` -> ``dmc_walker_walk``
    (``ball_in_cup`` -> ``cup``); ``atari:pong`` or ``ALE/Pong-v5`` -> ``atari_pong``; an official task
    name (``crafter_reward``, ``atari100k_pong``, ``gym_...``) is passed through.
    """
    env = env.strip()
    if env.startswith("dmc:") and env.endswith(":pixels"):
        raise ConfigError(f"{env!r}: the official DreamerV3 chooses DMC observations itself (dmc:domain-task "
                          f"maps to its task); drop the :pixels suffix, or train it on the native backend")
    if env.startswith("dmc:"):
        domain, sep, task = env.removeprefix("dmc:").rpartition("-")
        if not sep or not domain or not task:
            raise ConfigError(f"{env!r} is not a dmc:domain-task id (e.g. dmc:walker-walk) for the official DreamerV3")
        domain = "cup" if domain == "ball_in_cup" else domain
        if "_" in domain:  # the official loader splits the task name at the first "_"
            raise ConfigError(f"the official DreamerV3 cannot load DeepMind Control domain {domain!r} (it splits "
                              f"dmc_<domain>_<task> at the first underscore); use a domain without one")
        return f"dmc_{domain}_{task.replace('-', '_')}"
    if env.startswith("atari:"):
        return f"atari_{_snake(env.removeprefix('atari:'))}"
    match = re.fullmatch(r"ALE/([A-Za-z0-9]+)-v\d+", env)
    if match:
        return f"atari_{_snake(match.group(1))}"
    suite, sep, rest = env.partition("_")
    if sep and rest and suite in SUITES:
        return env
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.]*-v\d+", env):  # a gymnasium id, e.g. CartPole-v1
        return f"gym_{env}"
    raise ConfigError(
        f"the official DreamerV3 backend cannot map env {env!r} to an official task. Use a gymnasium id "
        f"(CartPole-v1 -> gym_CartPole-v1), dmc:domain-task, atari:game or ALE/Game-v5, or an official task name "
        f"(<suite>_<task> with suite one of {', '.join(SUITES)})")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().replace("-", "_")


def official_configs(handle: OfficialBackendHandle, config: TrainingConfig,
                     available: tuple[str, ...] | None = None) -> list[str]:
    """The official ``--configs`` names: ``config.backend_profile`` (comma-separated names) if set, else
    the preset's own size (``dreamerv3:size12m`` -> ``size12m``; ``official_xl`` -> none, the defaults).

    ``available`` (the top-level names of the checkout's configs.yaml) validates the names when given.
    """
    profile = config.backend_profile or handle.profile
    names = [n.strip() for n in re.split(r"[,\s]+", profile) if n.strip()]
    names = [n for n in names if n not in DEFAULT_PROFILES]
    if available is not None:
        unknown = [n for n in names if n not in available]
        if unknown:
            raise ConfigError(f"the official DreamerV3 configs.yaml has no config {', '.join(map(repr, unknown))}; "
                              f"it has: {', '.join(available)} (or official_xl for the defaults)")
    return names


def config_names(checkout: str | Path) -> tuple[str, ...]:
    """The top-level config names of the checkout's ``dreamerv3/configs.yaml`` (read without a YAML parser)."""
    text = (Path(checkout).expanduser() / "dreamerv3" / "configs.yaml").read_text()
    return tuple(re.findall(r"^([A-Za-z0-9_]+):", text, flags=re.MULTILINE))


def device_flags(device: str) -> tuple[list[str], dict[str, str]]:
    """Official flags and environment for a torch-style device name (cpu, cuda, cuda:N)."""
    if device == "cpu":
        return ["--jax.platform", "cpu", "--jax.compute_dtype", "float32"], {"JAX_PLATFORMS": "cpu"}
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if match:
        env = {"CUDA_VISIBLE_DEVICES": match.group(1)} if match.group(1) is not None else {}
        return ["--jax.platform", "cuda"], env
    raise ConfigError(f"the official DreamerV3 backend runs on cpu, cuda or cuda:N, not {device!r}")


def official_command(handle: OfficialBackendHandle, config: TrainingConfig, *, python: str, checkout: str,
                     logdir: Path, device: str, extra_flags: list[str] | tuple[str, ...] = (),
                     available: tuple[str, ...] | None = None,
                     model_changes: Mapping[str, Any] | None = None) -> tuple[list[str], dict[str, str]]:
    """The official command line and the environment variables it needs.

    ``model_changes`` are native config fields (keys of :data:`MODEL_FLAGS`) set on both sides.
    """
    model_changes = model_changes or {}
    if not config.env:
        raise ConfigError("TrainingConfig.env is required to run the official DreamerV3 (e.g. env='CartPole-v1')")
    command = [python, str(Path(checkout).expanduser() / "dreamerv3" / "main.py")]
    configs = official_configs(handle, config, available)
    if configs:
        command += ["--configs", *configs]
    command += ["--task", official_task(config.env), "--seed", str(config.seed), "--run.steps", str(config.steps),
                "--logdir", str(logdir), "--logger.outputs", "jsonl"]
    if config.train_ratio is not None:
        command += ["--run.train_ratio", str(float(config.train_ratio))]
    command += ["--run.envs", str(config.num_envs)]
    for field, value in sorted(model_changes.items()):
        command += [MODEL_FLAGS[field], str(value)]
    flags, env = device_flags(device)
    command += flags
    command += [str(f) for f in extra_flags]
    return command, env


# --- launching ----------------------------------------------------------------------------------------


def launch(handle: OfficialBackendHandle, config: TrainingConfig) -> Job:
    """Start the official DreamerV3 for ``handle`` and ``config`` under the bridge; returns its Job."""
    def plan(s: official.Settings, script: Path, run_dir: Path) -> official.Plan:
        if not config.env:
            raise ConfigError("TrainingConfig.env is required to run the official DreamerV3 (e.g. env='CartPole-v1')")
        extra = s.extra.get("extra_flags") or []
        logdir = run_dir / OFFICIAL_DIR
        checkout = script.parent.parent
        configs_file = checkout / "dreamerv3" / "configs.yaml"
        command, env = official_command(
            handle, config, python=str(Path(s.python or "python").expanduser()), checkout=str(checkout),
            logdir=logdir, device=config.device if config.device != "cpu" else handle.device,
            extra_flags=[str(f) for f in (extra.split() if isinstance(extra, str) else extra)],
            available=config_names(checkout) if configs_file.is_file() else None, model_changes=s.model_changes)
        return official.Plan(command=command, cwd=checkout, env=env, metrics_file=logdir / "metrics.jsonl",
                             translate="worldflux_backends.dreamerv3_jax:translate",
                             info={"handle": handle.to_dict(), "training": config_to_dict(config),
                                   "official_logdir": str(logdir),
                                   "resumes": (logdir / "ckpt" / "latest").exists()})

    return official.launch(CODE, handle, config, plan)


# --- metrics ------------------------------------------------------------------------------------------


def translate(record: dict[str, Any]) -> dict[str, Any] | None:
    """One line of the official ``metrics.jsonl`` as a native metrics record, or None when it has nothing
    the native schema holds.

    ``episode/score`` -> ``return``, ``episode/length`` -> ``length``; ``train/loss/<k>`` stays (the native
    DreamerV3 names its losses the same), decoder losses of all obs keys are also summed into
    ``train/loss/rec``; ``train/opt/loss`` -> ``train/loss``; ``train/ret``, ``train/adv_mag``;
    ``train/ent/action`` -> ``train/entropy``; ``fps/policy`` -> ``env_steps_per_s``.
    """
    out: dict[str, Any] = {"step": int(record["step"])}
    if "episode/score" in record:
        out["return"] = float(record["episode/score"])
    if "episode/length" in record:
        out["length"] = float(record["episode/length"])
    rec = None
    for key, value in record.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if key.startswith("train/loss/"):
            out[key] = float(value)
            if key.removeprefix("train/loss/") not in NON_RECONSTRUCTION:
                rec = (rec or 0.0) + float(value)
    if rec is not None:
        out["train/loss/rec"] = rec
    for official, native in (("train/opt/loss", "train/loss"), ("train/ret", "train/ret"),
                             ("train/adv_mag", "train/adv_mag"), ("train/ent/action", "train/entropy"),
                             ("fps/policy", "env_steps_per_s")):
        if isinstance(record.get(official), (int, float)):
            out[native] = float(record[official])
    return out if len(out) > 1 else None
