"""``worldflux train`` and ``worldflux eval``."""

from __future__ import annotations

import ast
import difflib
import json
from pathlib import Path
from typing import Any

import attrs
import click

from worldflux.cli.output import echo_json
from worldflux.errors import ConfigError


def _value(text: str) -> Any:
    """``--set`` values: JSON or Python literals (numbers, true/True, lists), else the plain string."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError):
            continue
    return text


def split_settings(pairs: tuple[str, ...], model_fields: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``name=value`` pairs -> (TrainingConfig changes, model config changes); unknown names get suggestions."""
    from worldflux.training.config import TrainingConfig

    training_fields = [f.name for f in attrs.fields(TrainingConfig)]
    training: dict[str, Any] = {}
    model: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise ConfigError(f"--set takes name=value; got {pair!r}")
        if name in training_fields:
            training[name] = _value(text)
        elif name in model_fields:
            model[name] = _value(text)
        else:
            close = difflib.get_close_matches(name, training_fields + model_fields, n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ConfigError(f"--set {name}: neither the model config nor TrainingConfig has a field {name!r}."
                              f"{hint} See `worldflux models show MODEL` and docs/training.md.")
    return training, model


@click.command()
@click.argument("model", required=False)
@click.option("--env", "env_id", help="gymnasium id (Pendulum-v1) or dmc:domain-task.")
@click.option("--steps", type=int, help="Total env steps.  [default: 10000]")
@click.option("--seed", type=int, help="Seed.  [default: 0]")
@click.option("--device", help="torch device.  [default: cpu]")
@click.option("--set", "settings", multiple=True, metavar="FIELD=VALUE",
              help="A model config or TrainingConfig field (repeatable), e.g. --set lr=1e-3 --set num_envs=4.")
@click.option("--out", type=click.Path(path_type=Path), help="Run directory.  [default: runs/<model>-<env>-<time>]")
@click.option("--resume", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Continue the run in this directory from its last checkpoint.")
@click.option("--detach", is_flag=True, help="Run as a background job; print its id and return.")
def train(model: str | None, env_id: str | None, steps: int | None, seed: int | None, device: str | None,
          settings: tuple[str, ...], out: Path | None, resume: Path | None, detach: bool) -> None:
    """Train MODEL (a preset, alias or saved model) on an environment."""
    from worldflux.training import Trainer, TrainingConfig, create_for_env

    flags = {"env": env_id, "steps": steps, "seed": seed, "device": device}
    flags = {k: v for k, v in flags.items() if v is not None}
    if resume is not None:
        if model or out or settings or env_id or seed is not None:
            raise ConfigError("--resume continues a run as configured; pass only --steps or --device with it")
        trainer = Trainer.resume(resume, **flags)
    else:
        if model is None or env_id is None:
            raise ConfigError("give a MODEL and --env, e.g. `worldflux train tdmpc2:ci --env Pendulum-v1`, "
                              "or --resume RUN_DIR")
        import torch

        from worldflux.building import config_class
        from worldflux.config import make_config
        from worldflux.factory import create_from, resolve_model

        target = resolve_model(model)
        model_fields = [] if isinstance(target, Path) else [f.name for f in attrs.fields(config_class(target))]
        training, overrides = split_settings(settings, model_fields)
        config = make_config(TrainingConfig, {**training, **flags, "run_dir": str(out) if out else None})
        torch.manual_seed(config.seed)
        if isinstance(target, Path):
            built = create_from(target, overrides, device=config.device)
        else:
            built = create_for_env(target, config.env, device=config.device, image_size=config.image_size,
                                   **overrides)
        trainer = Trainer(built, config)
    if detach:
        job = trainer.submit()
        click.echo(f"{job.id}\t{job.run_dir}")
        return
    echo_json(trainer.fit())


@click.command("eval")
@click.argument("source")
@click.option("--env", "env_id", help="Environment id; defaults to a run's own env.")
@click.option("--episodes", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=int, default=12345, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--video", "video", is_flag=False, flag_value="", default=None, metavar="[GIF]",
              help="Also write the first episode as an animated GIF (default: RUN_DIR/episode.gif, or episode.gif "
                   "here for a saved model).")
def eval_command(source: str, env_id: str | None, episodes: int, seed: int, device: str, video: str | None) -> None:
    """Evaluate a run directory's latest weights, or a saved model, without exploration."""
    from worldflux.factory import create_world_model
    from worldflux.training import evaluate
    from worldflux.runs import RunDir

    run = RunDir(source)
    image_size = None
    if run.run_file.exists():
        training = run.read()["training"]
        env_id, image_size = env_id or training["env"], training.get("image_size")
        source = str(run.model)
    if video == "":
        video = str((run.path if run.run_file.exists() else Path.cwd()) / "episode.gif")
    if env_id is None:
        raise ConfigError("--env is required when evaluating a saved model")
    model = create_world_model(source, device=device)
    echo_json({"source": source, "env": env_id, "episodes": episodes,
               **evaluate(model, env_id, episodes, seed, image_size=image_size, video=video)})
