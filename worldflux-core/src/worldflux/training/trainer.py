"""The Trainer: one loop that trains any family's agent on real environments.

Collect with the agent -> replay -> updates at the train ratio -> evaluation,
metrics and checkpoints at fixed env-step intervals. Everything a resumed run
needs (weights, optimisers, acting state, RNGs, counters, the replay's length
and each environment's episode) is in the checkpoint, so ``resume`` continues
exactly where the checkpoint was taken.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from worldflux.backends import DelegatedHandle
from worldflux.config import config_to_dict, evolve_config, make_config
from worldflux.devices import resolve_device
from worldflux.errors import ConfigError, WorldFluxError
from worldflux.log import get_logger
from worldflux.protocol import model_name
from worldflux.records import NATIVE_BACKEND
from worldflux.runs import MetricsLog, RunDir, default_run_dir, open_run
from worldflux.saving import save_model
from worldflux.training.agent import Agent, make_agent
from worldflux.training.checkpoint import checkpoint_step, has_checkpoint, load_checkpoint, save_checkpoint
from worldflux.training.config import TrainingConfig
from worldflux.training.distributed import Workers
from worldflux.training.envs import EnvPool, episode_seed, frame_stack
from worldflux.training.evaluation import evaluate
from worldflux.training.precision import autocast
from worldflux.training.progress import Progress, Work
from worldflux.training.replay import Replay, obs_fields
from worldflux.training.replay_files import ReplayFiles
from worldflux.types import map_obs

log = get_logger(__name__)
CHUNK = 1024  # replay rows per file; the replay holds at least this many, so every chunk can be written


class Trainer:
    """Trains ``model`` as ``config`` says: in this process (:meth:`fit`) or in the background (:meth:`submit`).

    ``model`` is a native model, or an :class:`DelegatedHandle` that a
    delegated backend runs (``submit`` only).
    """

    def __init__(self, model: Any, config: TrainingConfig | None = None) -> None:
        config = (config or TrainingConfig()).resolved()
        if isinstance(model, DelegatedHandle):
            from worldflux.state import catalog

            named = config.backend if config.backend == NATIVE_BACKEND else catalog().backend(config.backend).name
            if named not in (NATIVE_BACKEND, model.backend):
                raise ConfigError(f"the handle is for backend {model.backend!r} but TrainingConfig.backend is "
                                  f"{config.backend!r}; make them agree")
            config = evolve_config(config, {"backend": model.backend})
        elif config.backend != NATIVE_BACKEND:
            raise ConfigError(f"TrainingConfig.backend={config.backend!r} runs a delegated preset: create it "
                              f"with create_world_model(name, backend={config.backend!r}) and pass that handle")
        self.model, self.config = model, config
        self.resuming = False
        self.stop_requested = threading.Event()

    @classmethod
    def resume(cls, run_dir: str | Path, **changes: Any) -> Trainer:
        """A Trainer that continues the run in ``run_dir`` from its last checkpoint (``changes``: e.g. steps)."""
        from worldflux.building import preset_for_family
        from worldflux.factory import create_from, create_world_model
        from worldflux.saving import is_saved_model

        run = RunDir(run_dir)
        data = run.read()
        config = make_config(TrainingConfig, {**data["training"], **changes, "run_dir": str(run.path)})
        step = checkpoint_step(run.checkpoint())
        if step is not None and config.steps < step:
            raise ConfigError(f"{run.path} is at env step {step}; --steps {config.steps} would go back. Give at "
                              f"least {step} (the run's own target is {data['training'].get('steps')}).")
        if step is None and not is_saved_model(run.model) and isinstance(data.get("model_config"), dict):
            # killed before its first checkpoint and during its first model save: start it again as configured
            preset = preset_for_family(data["model_config"]["family"], data["model"])
            torch.manual_seed(config.seed)
            model = create_from(preset, data["model_config"]["config"], device=config.device)
        else:
            model = create_world_model(run.model, device=config.device)
        trainer = cls(model, config)
        trainer.resuming = True
        return trainer

    def stop(self) -> None:
        """Ask a running :meth:`fit` to checkpoint and return after the current step (thread- and signal-safe)."""
        self.stop_requested.set()

    def submit(self) -> Any:
        """Start this run in the background and return its :class:`~worldflux.runs.Job`."""
        if isinstance(self.model, DelegatedHandle):
            from worldflux.lazy import load_ref
            from worldflux.state import catalog

            record = catalog().backend(self.model.backend)
            return load_ref(record.launcher, provider=str(record.provider))(self.model, self.config)
        from worldflux.training.submit import submit_native

        return submit_native(self)

    # --- the loop -------------------------------------------------------------------

    def fit(self) -> dict[str, Any]:
        """Train to ``config.steps`` env steps in this process; returns the final counters and evaluation."""
        if isinstance(self.model, DelegatedHandle):
            raise ConfigError(f"{self.model.model_id} runs on backend {self.model.backend!r}, not in this "
                              f"process: call Trainer(...).submit()")
        c = self.config
        if c.env is None:
            raise ConfigError("TrainingConfig.env is required: a gymnasium id such as 'Pendulum-v1' or "
                              "'dmc:cartpole-swingup'")
        workers = Workers(resolve_device(c.device))
        device = workers.device
        if c.run_dir is None and workers.world > 1:
            raise ConfigError("multi-process runs need an explicit run_dir (--out) shared by all workers")
        run = RunDir(c.run_dir or default_run_dir(model_name(self.model), c.env))
        if not self.resuming and has_checkpoint(run.checkpoint()):
            raise ConfigError(f"{run.path} already holds a run; continue it with --resume {run.path} "
                              f"(Trainer.resume) or choose another run directory")
        self.run_dir = run.path
        model = self.model.to(device)
        pool = EnvPool(c.env, c.num_envs, c.seed, c.image_size, first_index=workers.rank * c.num_envs,
                       frames=frame_stack(model.config))
        pool.spec.check_fits(model.config, model_name(model))
        torch.manual_seed(c.seed + workers.rank)
        rng = np.random.default_rng([c.seed, workers.rank])
        agent = make_agent(model, c.num_envs)
        workers.replicate(model)
        if c.compile:
            agent.compile()
        capacity = max(agent.window, CHUNK, min(c.replay_capacity, c.steps) // (c.num_envs * workers.world) + 1)
        obs_shape, obs_dtype = pool.spec.obs_layout()
        replay = Replay(capacity, obs_shape, pool.spec.action_dim, num_envs=c.num_envs, obs_dtype=obs_dtype,
                        within_episode=agent.within_episode, context=agent.replay_context)
        files = ReplayFiles(run.replay(workers.rank), CHUNK)
        loop = _Loop(self, c, model, agent, pool, replay, files, rng, run, workers, device)
        with contextlib.ExitStack() as held:
            if workers.main:  # the only writer of the directory; records the config (a resume may change it)
                held.enter_context(open_run(run.path, model_name=model_name(model), env=c.env, config=c,
                                            model_config={"family": model.family,
                                                          "config": config_to_dict(model.config)}))
            restoring = self.resuming and has_checkpoint(run.checkpoint(workers.rank))
            if restoring:
                loop.restore()
            else:  # a first start, or one that died before its first checkpoint: nothing of it is kept
                files.clear()
            if workers.main and not restoring:
                save_model(model, run.model)
            workers.check_same(loop.count["steps"], "the env step to continue from")
            workers.barrier()
            handlers = {}
            if threading.current_thread() is threading.main_thread():
                def interrupt(*_: Any) -> None:  # the first Ctrl-C stops after this step; a second aborts
                    self.stop_requested.set()
                    signal.signal(signal.SIGINT, signal.default_int_handler)

                handlers = {signal.SIGTERM: signal.signal(signal.SIGTERM, lambda *_: self.stop_requested.set()),
                            signal.SIGINT: signal.signal(signal.SIGINT, interrupt)}
            try:
                return loop.run()
            finally:
                for sig, handler in handlers.items():
                    signal.signal(sig, handler)
                pool.close()
                workers.close()


class _Loop:
    """The state of one fit: counters, environments, replay, logs."""

    def __init__(self, trainer: Trainer, c: TrainingConfig, model: Any, agent: Agent, pool: EnvPool,
                 replay: Replay, files: ReplayFiles, rng: np.random.Generator, run: RunDir, workers: Workers,
                 device: torch.device) -> None:
        self.trainer, self.c, self.model, self.agent, self.pool = trainer, c, model, agent, pool
        self.replay, self.files, self.rng, self.rundir, self.workers, self.device = (
            replay, files, rng, run, workers, device)
        self.seed_steps = agent.seed_steps if c.seed_steps is None else c.seed_steps
        ratio = agent.train_ratio if c.train_ratio is None else c.train_ratio
        self.updates_per_env_step = ratio / (agent.batch_size * agent.window)
        self.count: dict[str, Any] = {"steps": 0, "updates": 0, "episodes": 0, "budget": 0.0, "started": False,
                                      "next_eval": c.eval_every, "next_log": c.log_every,
                                      "next_checkpoint": c.checkpoint_every}
        self.actions = np.zeros((c.num_envs, pool.spec.action_dim), np.float32)
        self.episode_return = np.zeros(c.num_envs)
        self.episode_length = np.zeros(c.num_envs, np.int64)
        self.resume_step = 0  # metrics records after it are dropped: a restart keeps none of an earlier attempt
        self.checkpointed_at: int | None = None
        self.progress = Progress(c.steps, 0)
        self.pending_updates = 0  # updates of the current burst not yet done (for the ETA)
        self.last_return: float | None = None
        self.last_eval: dict[str, float] | None = None
        self._window: dict[str, Any] = {"returns": [], "lengths": [], "sums": {}, "n": 0,
                                         "time": time.monotonic(), "steps": 0, "updates": 0}

    # --- checkpoint ---------------------------------------------------------------------

    def checkpoint(self) -> None:
        self.checkpointed_at = self.count["steps"]
        self.files.sync(self.replay, partial=True)
        save_checkpoint(self.rundir.checkpoint(self.workers.rank), {
            "model": self.model.state_dict(),
            "agent": self.agent.state_dict(),
            "counters": dict(self.count),
            "rng": {"torch": torch.get_rng_state(), "numpy": self.rng.bit_generator.state,
                    "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else []},
            "envs": {"episodes": self.pool.episodes.tolist(), "done": self.pool.done.tolist(),
                     "episode_return": self.episode_return.tolist(),
                     "episode_length": self.episode_length.tolist()},
            "replay_total": self.replay.total,
            "window": {k: self._window[k] for k in ("returns", "lengths", "sums", "n")},
        })
        if self.workers.main:
            save_model(self.model, self.rundir.model)
        self.workers.barrier()

    def restore(self) -> None:
        directory = self.rundir.checkpoint(self.workers.rank)
        tree = load_checkpoint(directory, self.device)
        try:
            self._restore(tree)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as exc:
            raise WorldFluxError(f"the checkpoint in {directory} does not fit this run ({type(exc).__name__}: "
                                 f"{exc}); it was altered or belongs to another model. Resume from another copy, "
                                 f"or start the run again in a new directory.") from exc

    def _restore(self, tree: dict[str, Any]) -> None:
        self.model.load_state_dict(tree["model"])
        self.agent.load_state_dict(tree["agent"])
        counters = tree["counters"]
        if not all(type(counters.get(k)) is int for k in ("steps", "updates", "episodes")):
            raise TypeError(f"its counters {counters!r} are not whole numbers")
        self.count.update(counters)
        torch.set_rng_state(tree["rng"]["torch"].cpu())
        if tree["rng"]["cuda"] and self.device.type == "cuda":
            torch.cuda.set_rng_state_all([state.cpu() for state in tree["rng"]["cuda"]])
        self.rng.bit_generator.state = tree["rng"]["numpy"]
        self.files.load(self.replay, tree["replay_total"])
        envs = tree["envs"]
        self.episode_return = np.asarray(envs["episode_return"], np.float64)
        self.episode_length = np.asarray(envs["episode_length"], np.int64)
        self.pool.episodes[:] = envs["episodes"]
        self.pool.done[:] = envs["done"]
        if self.replay.total:  # else: checkpointed before the first step, nothing to re-create
            self.actions = self.replay.rows(self.replay.total - 1, self.replay.total)["action"][:, 0].copy()
        for i in np.flatnonzero(~self.pool.done):
            start = self.replay.episode_start(int(i))
            rows = self.replay.rows(start, self.replay.total)
            obs = self.pool.restore(int(i), int(self.pool.episodes[i]) - 1, rows["action"][i, :-1])
            if not all(np.allclose(v, rows[k][i, -1], atol=1e-5) for k, v in obs_fields(obs).items()):
                log.warning("environment %d did not reproduce its recorded episode from its seed (the env is "
                            "not deterministic); the resumed run continues from the re-simulated state", i)
        self._window.update(tree["window"], steps=self.count["steps"], updates=self.count["updates"])
        self.resume_step = self.checkpointed_at = self.count["steps"]
        log.info("resumed %s at env step %d (%d updates)", self.rundir.path, self.count["steps"], self.count["updates"])

    # --- one step ---------------------------------------------------------------------

    def _random_actions(self) -> np.ndarray:
        e, a = self.actions.shape
        if self.pool.spec.discrete_actions:
            return np.eye(a, dtype=np.float32)[self.rng.integers(0, a, e)]
        return self.rng.uniform(-1, 1, (e, a)).astype(np.float32)

    def _collect(self) -> None:
        out = self.pool.step(self.actions)
        context = None
        if self.count["steps"] < self.seed_steps:
            self.actions = self._random_actions()
        else:
            with autocast(self.device.type, self.c.precision):
                act = self.agent.act(map_obs(out.obs, lambda o: torch.as_tensor(o, device=self.device)),
                                     torch.as_tensor(out.is_first, device=self.device), explore=True)
            self.actions = act.float().cpu().numpy()
            context = {k: v.float().cpu().numpy() for k, v in self.agent.replay_entries().items()}
        self.replay.add(out.obs, self.actions, out.reward, out.is_first, out.is_terminal, context)
        self.files.sync(self.replay)
        self.count["steps"] += len(self.actions) * self.workers.world
        self.episode_return += out.reward
        self.episode_length += ~out.is_first
        for i in np.flatnonzero(out.is_last):
            self._window["returns"].append(float(self.episode_return[i]))
            self._window["lengths"].append(int(self.episode_length[i]))
            self.count["episodes"] += 1
        self.episode_return[out.is_last] = 0.0
        self.episode_length[out.is_last] = 0

    def _burst(self) -> float:
        """Updates at the first training step instead of its share (the official TD-MPC2 schedule)."""
        return self.agent.pretrain_ratio * self.seed_steps / self.workers.world

    def _left(self) -> Work:
        c, count = self.c, self.count
        trained = max(0, c.steps - max(count["steps"], self.seed_steps)) / self.workers.world
        updates = trained * self.updates_per_env_step + self.pending_updates
        if not count["started"]:
            updates += self._burst()
        evaluations = 0
        if c.eval_every and count["next_eval"] <= c.steps:
            evaluations = (c.steps - count["next_eval"]) // c.eval_every + 1
        random = max(0, min(c.steps, self.seed_steps) - count["steps"])
        return Work(random, c.steps - count["steps"] - random, updates, evaluations)

    def _show(self, phase: str, force: bool = False) -> None:
        if self.workers.main:
            self.progress.show(phase, self.count["steps"], self.count["updates"], self._left(), self.last_return,
                               (self.last_eval or {}).get("eval_return"), force)

    def _train(self) -> None:
        count, agent = self.count, self.agent
        length = agent.window + bool(agent.replay_context)
        windows = (self.replay.count - length + 1) * len(self.actions)
        if count["steps"] < self.seed_steps or windows < max(agent.min_windows, 1):
            return
        phase = "training"
        if not count["started"]:
            count["started"] = True
            count["budget"] += self._burst()
            phase = "pretraining" if self._burst() >= 1 else phase
        else:
            count["budget"] += len(self.actions) * self.updates_per_env_step
        n = int(count["budget"])
        count["budget"] -= n
        sums = self._window["sums"]
        for i in range(n):
            # a long pretraining burst must not delay a cancel (with several workers: stop at the step's end,
            # all together, or their gradient all-reduces would not match)
            if self.workers.world == 1 and self.trainer.stop_requested.is_set():
                count["budget"] += n - i
                n = i
                break
            self.pending_updates = n - i
            self._show(phase)
            began = time.monotonic()
            batch = self.replay.sample(self.rng, agent.batch_size, agent.window).to(self.device)
            with autocast(self.device.type, self.c.precision):
                metrics = agent.update(batch)
            for key, value in metrics.items():
                sums[key] = sums[key] + value.detach().float() if key in sums else value.detach().float()
            self._window["n"] += 1
            self.count["updates"] += 1
            self.progress.spent("updates", time.monotonic() - began)
        self.pending_updates = 0
        if n:
            self.workers.sync_buffers(self.model)

    def _record(self, evaluation: dict[str, float] | None, train: bool) -> dict[str, Any]:
        record: dict[str, Any] = {"step": self.count["steps"], "updates": self.count["updates"],
                                  "episodes": self.count["episodes"]}
        if evaluation:
            record.update(evaluation)
        if train:
            w, now = self._window, time.monotonic()
            if w["returns"]:
                record["return"] = float(np.mean(w["returns"]))
                record["length"] = float(np.mean(w["lengths"]))
            record.update({f"train/{k}": float(v) / w["n"] for k, v in w["sums"].items()})
            elapsed = max(now - w["time"], 1e-9)
            record["wall_s"] = round(time.monotonic() - self.start, 3)
            record["env_steps_per_s"] = (self.count["steps"] - w["steps"]) / elapsed
            record["updates_per_s"] = (self.count["updates"] - w["updates"]) / elapsed
            self._window = {"returns": [], "lengths": [], "sums": {}, "n": 0, "time": now,
                            "steps": self.count["steps"], "updates": self.count["updates"]}
        return record

    def _due(self, key: str, every: int) -> bool:
        if every and self.count["steps"] >= self.count[key]:
            while self.count[key] <= self.count["steps"]:
                self.count[key] += every
            return True
        return False

    def run(self) -> dict[str, Any]:
        c, count, workers = self.c, self.count, self.workers
        metrics = MetricsLog(self.rundir.path, self.resume_step) if workers.main else None
        self.progress = Progress(c.steps, count["steps"])
        self.start = time.monotonic()
        stopped = False
        try:
            while count["steps"] < c.steps:
                if workers.any(self.trainer.stop_requested.is_set()):
                    stopped = True
                    break
                began, kind = time.monotonic(), "random_steps" if count["steps"] < self.seed_steps else "acting_steps"
                self._collect()
                self.progress.spent(kind, time.monotonic() - began, len(self.actions) * workers.world)
                self._train()
                self._show("training" if count["started"] else "seeding")
                evaluation = None
                if not self.trainer.stop_requested.is_set() and self._due("next_eval", c.eval_every):  # a cancel first
                    self._show("evaluating")
                    began = time.monotonic()
                    evaluation = self.last_eval = evaluate(
                        self.model, c.env, c.eval_episodes, episode_seed(c.seed, 10**6 + workers.rank, count["steps"]),
                        image_size=c.image_size, precision=c.precision)
                    self.progress.spent("evaluations", time.monotonic() - began)
                log_now = self._due("next_log", c.log_every)
                if evaluation or log_now:
                    record = self._record(evaluation, log_now)
                    self.last_return = record.get("return", self.last_return)
                    if metrics is not None:
                        metrics.write(record)
                    self._show("training" if count["started"] else "seeding", force=evaluation is not None)
                if self._due("next_checkpoint", c.checkpoint_every):
                    self.checkpoint()
        finally:
            if metrics is not None:
                metrics.close()
        if self.checkpointed_at != count["steps"]:
            self.checkpoint()
        self._show("stopped" if stopped else "finished", force=True)
        if workers.main and not stopped:
            _plot(self.rundir)
        log.info("%s at env step %d, %d updates: %s", "stopped" if stopped else "finished", count["steps"],
                 count["updates"], self.rundir.path)
        return {"run_dir": str(self.rundir.path), "steps": count["steps"], "updates": count["updates"],
                "episodes": count["episodes"], "stopped": stopped, **(self.last_eval or {})}


def _plot(run: RunDir) -> None:
    from worldflux.errors import WorldFluxError
    from worldflux.training.plot import plot_run

    try:
        plot_run(run.path)
    except WorldFluxError as exc:
        log.warning("no learning curve: %s", exc)
