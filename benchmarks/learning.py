"""Shared runner of the learning benchmarks: train seeds with the Trainer, stop a seed once it meets the target."""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path
from typing import Any

import attrs
import torch

from worldflux.log import log_to_stderr
from worldflux.training import Trainer, TrainingConfig
from worldflux.training.build import create_for_env
from worldflux.runs import read_metrics


@attrs.frozen
class Target:
    model: str
    env: str
    steps: int
    threshold: float
    eval_every: int
    model_overrides: dict[str, Any]
    training: dict[str, Any]


def _watch(trainer: Trainer, run_dir: Path, threshold: float, done: threading.Event) -> None:
    """Stop the run at the first evaluation at or above the threshold."""
    while not done.wait(2.0):
        if any((r.get("eval_return") or -1e18) >= threshold for r in read_metrics(run_dir)):
            trainer.stop()
            return


def run_seed(t: Target, seed: int, out: Path) -> dict[str, Any]:
    torch.manual_seed(seed)
    model = create_for_env(t.model, t.env, **t.model_overrides)
    run_dir = out / f"{t.model.replace(':', '-')}-{t.env}-seed{seed}"
    config = TrainingConfig(env=t.env, steps=t.steps, seed=seed, eval_every=t.eval_every, eval_episodes=5,
                            log_every=250, checkpoint_every=t.steps, run_dir=str(run_dir), **t.training)
    trainer = Trainer(model, config)
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(trainer, run_dir, t.threshold, done), daemon=True)
    start = time.time()
    watcher.start()
    summary = trainer.fit()
    done.set()
    records = read_metrics(run_dir)
    evals = {r["step"]: r["eval_return"] for r in records if r.get("eval_return") is not None}
    hit = next((s for s, v in evals.items() if v >= t.threshold), None)
    for step, value in evals.items():
        print(f"seed {seed} step {step:5d}  eval return {value:8.1f}", flush=True)
    return {"seed": seed, "evals": evals, "hit": hit, "wall_s": time.time() - start, "updates": summary["updates"],
            "steps": summary["steps"]}


def main(doc: str, target: Target) -> None:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 when running seeds side by side)")
    parser.add_argument("--out", type=Path, default=Path("runs/benchmarks"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    log_to_stderr()
    results = [run_seed(target, s, args.out) for s in args.seeds]
    print("\nseed  first step >= target   steps run   updates   wall_s   updates/s")
    for r in results:
        print(f"{r['seed']:4d}  {str(r['hit']):>20}   {r['steps']:9d}   {r['updates']:7d}   {r['wall_s']:6.0f}   "
              f"{r['updates'] / r['wall_s']:9.2f}")
    hits = sum(r["hit"] is not None and r["hit"] <= target.steps for r in results)
    print(f"{hits} of {len(results)} seeds reached an evaluation return >= {target.threshold} "
          f"within {target.steps} env steps")
