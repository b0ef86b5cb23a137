"""Learning-curve campaigns: the native model and its official implementation on the same tasks and seeds.

A campaign directory holds ``campaign.json`` (what was asked) and one run
directory per side, task and seed under ``runs/``. Running it again continues:
finished runs are kept, interrupted native runs resume from their checkpoint.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import attrs

from worldflux.atomic import write_json_atomic
from worldflux.errors import ConfigError, WorldFluxError
from worldflux.log import get_logger
from worldflux.state import catalog
from worldflux.threads import split_cores

CAMPAIGN_FILE = "campaign.json"
SIDES = ("native", "official")
log = get_logger(__name__)


def _mapping(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


@attrs.frozen(kw_only=True)
class Campaign:
    """One preset trained natively and by its official backend on ``tasks`` x ``seeds``.

    ``training`` holds TrainingConfig fields shared by both sides, ``model``
    config overrides for both sides, ``official`` the backend's options (its
    python, checkout, flags). With ``ray`` (the ray backend's options, e.g.
    ``{"address": "ray://head:10001"}``; ``{}`` for a local Ray) native runs are
    Ray tasks; official runs are always local processes.
    """

    preset: str
    backend: str
    tasks: tuple[str, ...] = attrs.field(converter=tuple)
    seeds: tuple[int, ...] = attrs.field(converter=tuple)
    steps: int
    training: dict[str, Any] = attrs.field(factory=dict, converter=_mapping)
    model: dict[str, Any] = attrs.field(factory=dict, converter=_mapping)
    official: dict[str, Any] = attrs.field(factory=dict, converter=_mapping)
    ray: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def run_dir(self, out: Path, side: str, task: str, seed: int) -> Path:
        """Where one run lives; its base name (the job id) is unique across sides, tasks and seeds."""
        from worldflux.runs import slug

        return out / "runs" / slug(f"{out.resolve().name}-{side}-{task}-s{seed}")

    def runs(self, out: Path) -> list[dict[str, Any]]:
        return [{"side": side, "task": task, "seed": seed, "run_dir": str(self.run_dir(out, side, task, seed))}
                for task in self.tasks for seed in self.seeds for side in SIDES]


def official_backend(preset_name: str) -> str:
    """The delegated backend that runs ``preset_name``'s official implementation."""
    cat = catalog()
    preset = cat.resolve(preset_name)
    official = cat.official_of_family(preset.family)
    if official.backend is None:
        raise ConfigError(f"{official.name} names no backend that runs the official code; pass --backend")
    return official.backend


def make_campaign(preset: str, tasks: Sequence[str], seeds: Sequence[int], steps: int, *,
                  backend: str | None = None, training: Mapping[str, Any] | None = None,
                  model: Mapping[str, Any] | None = None, official: Mapping[str, Any] | None = None,
                  ray: Mapping[str, Any] | None = None) -> Campaign:
    """A checked campaign: the preset and backend exist, the backend runs the preset, the fields are valid."""
    from worldflux.config import check_field_names, make_config
    from worldflux.training.config import TrainingConfig

    if not tasks or not seeds:
        raise ConfigError("a campaign needs at least one task (--env) and one seed (--seeds)")
    record = catalog().resolve(preset)
    backend = catalog().backend(backend or official_backend(record.name)).name
    if not catalog().backends[backend].accepts(record.name):
        raise ConfigError(f"backend {backend!r} does not run {record.name}")
    training = dict(training or {})
    taken = {"env", "seed", "steps", "run_dir", "backend"} & set(training)
    if taken:
        raise ConfigError(f"{', '.join(sorted(taken))} are set by the campaign itself, not by --set")
    check_field_names(TrainingConfig, training)
    make_config(TrainingConfig, {**training, "steps": steps})  # values are checked before anything starts
    if ray is not None:
        catalog().backend("ray")  # installed, or an error that says how to install it
    return Campaign(preset=record.name, backend=backend, tasks=tasks, seeds=[int(s) for s in seeds], steps=steps,
                    training=training, model=model or {}, official=official or {},
                    ray=None if ray is None else dict(ray))


def read_campaign(out: str | Path) -> Campaign:
    """The campaign recorded in ``out``."""
    path = Path(out) / CAMPAIGN_FILE
    try:
        data = json.loads(path.read_text())
        return Campaign(**data["campaign"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorldFluxError(f"{path} is not a campaign file ({exc}); campaigns are made by "
                             f"`worldflux parity run`.") from exc


def _status(run_dir: Path) -> str | None:
    from worldflux.runs import Job

    if not (run_dir / "job.json").exists():
        return None
    return Job(run_dir).status()


def _start(campaign: Campaign, side: str, task: str, seed: int, run_dir: Path) -> Any:
    """Submit one run (or resume an interrupted native one); returns its Job."""
    from worldflux.factory import create_world_model
    from worldflux.training import Trainer, TrainingConfig, create_for_env
    from worldflux.training.checkpoint import has_checkpoint
    from worldflux.runs import RunDir

    import torch

    config = {**campaign.training, "env": task, "seed": seed, "steps": campaign.steps, "run_dir": str(run_dir)}
    if side == "native":
        if has_checkpoint(RunDir(run_dir).checkpoint()):
            return Trainer.resume(run_dir).submit()  # on this machine, also in a Ray campaign
        if campaign.ray is not None:
            handle = create_world_model(campaign.preset, backend="ray", **campaign.ray, **campaign.model)
            return Trainer(handle, TrainingConfig(**config, backend="ray")).submit()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the initial weights follow the run's seed, as `worldflux train` does
            model = create_for_env(campaign.preset, task, device=config.get("device", "cpu"), **campaign.model)
        return Trainer(model, TrainingConfig(**config)).submit()
    if run_dir.exists():
        raise WorldFluxError(f"the official run {run_dir} was interrupted and the official code cannot resume "
                             f"it; delete that directory and run the campaign again")
    handle = create_world_model(campaign.preset, backend=campaign.backend, **campaign.official, **campaign.model)
    return Trainer(handle, TrainingConfig(**config, backend=campaign.backend)).submit()


def run_campaign(campaign: Campaign, out: str | Path, *, parallel: int = 1, sides: Sequence[str] = SIDES,
                 poll_s: float = 5.0) -> list[dict]:
    """Train the runs of ``campaign`` on ``sides`` into ``out``, ``parallel`` at a time, each with
    ``cores // parallel`` OpenMP threads unless ``OMP_NUM_THREADS`` says otherwise (:func:`split_cores`).

    Returns every run of the campaign with its status (None: not started).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CAMPAIGN_FILE
    if path.exists() and read_campaign(out) != campaign:
        raise ConfigError(f"{out} holds another campaign ({path}); choose another --out, or repeat its exact "
                          f"arguments to continue it")
    runs = campaign.runs(out)
    write_json_atomic(path, {"campaign": campaign.to_dict(), "runs": runs})
    pending = [r for r in runs if r["side"] in sides and _status(Path(r["run_dir"])) != "finished"]
    active: list[tuple[dict[str, Any], Any]] = []
    while pending or active:
        while pending and len(active) < parallel:
            run = pending.pop(0)
            log.info("starting %s %s seed %d -> %s", run["side"], run["task"], run["seed"], run["run_dir"])
            with split_cores(parallel):  # the run's process inherits its thread count
                active.append((run, _start(campaign, run["side"], run["task"], run["seed"], Path(run["run_dir"]))))
        time.sleep(poll_s)
        still = []
        for run, job in active:
            status = job.status()
            if status in ("finished", "failed", "cancelled"):
                log.info("%s %s seed %d: %s%s", run["side"], run["task"], run["seed"], status,
                         f" ({job.error()})" if status == "failed" else "")
            else:
                still.append((run, job))
        active = still
    return [{**r, "status": _status(Path(r["run_dir"]))} for r in runs]
