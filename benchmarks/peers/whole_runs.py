"""Whole training runs: `worldflux train` against the official training loop, env steps and updates per second.

Trains PRESET on ENV for STEPS env steps with the native Trainer and with the
backend that runs the official code, the same settings on both sides (a parity
campaign, see docs/parity.md), one run at a time, alternating the sides seed by
seed, then prints each run's wall time from its job record (process start to
finish: start-up, seeding, updates, collection, replay sampling and logging;
the official TD-MPC2's step-0 evaluation, which it makes whatever the settings,
is taken off by the time its log gives) and its env steps per second. Updates
per second are printed where the run records its update count (the native
summary). Finished runs in
``--out`` are reused, so the command continues an interrupted benchmark.

    python -m benchmarks.peers.whole_runs --preset tdmpc2:1m --env dmc:cartpole-balance --steps 5000 \\
        --out runs/whole/tdmpc2 --set batch_size=64 --set iterations=3 --set num_samples=256
    python -m benchmarks.peers.whole_runs --preset dreamerv3:size1m --env CartPole-v1 --steps 2000 \\
        --out runs/whole/dreamerv3 --set train_ratio=256 --set lr=3e-4 --set warmup=100

The official side needs its environment (``WORLDFLUX_TDMPC2_PYTHON`` and
``..._CHECKOUT``, or ``WORLDFLUX_DREAMERV3_...``), as for `worldflux parity run`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.peers.alternate import device_name

QUIET = ["eval_every=0", "eval_episodes=1", "log_every=500"]  # before --set, which may override them
# the official TD-MPC2 evaluates at step 0 whatever eval_freq says; its log line ends with the time so far
STEP0_EVAL = re.compile(r"^\s*eval\s.*\bI: 0\s.*\bT: (\d+):(\d\d):(\d\d)", re.MULTILINE)


def step0_eval_s(run_dir: Path) -> float:
    """Seconds an official TD-MPC2 run spent on its step-0 evaluation (0 for runs that log none)."""
    log = run_dir / "logs.txt"
    found = STEP0_EVAL.search(log.read_text(errors="replace")) if log.exists() else None
    return 0.0 if found is None else 3600 * int(found[1]) + 60 * int(found[2]) + int(found[3])


def throughput(run_dir: Path) -> dict[str, Any]:
    """Wall seconds, env steps and updates of a finished run, from its job and status records."""
    job = json.loads((run_dir / "job.json").read_text())
    status = json.loads((run_dir / "status.json").read_text())
    if status["status"] != "finished":
        raise SystemExit(f"{run_dir} did not finish ({status['status']}: {status.get('error')}); see its "
                         f"logs.txt, delete it and run again.")
    summary = status.get("summary", {})
    steps = json.loads((run_dir / "run.json").read_text())["training"]["steps"]
    eval_s = step0_eval_s(run_dir)
    return {"wall_s": status["time"] - job["created"] - eval_s, "steps": summary.get("steps", steps),
            "updates": summary.get("updates"), "eval_s": eval_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="OMP_NUM_THREADS of both sides")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a model config or TrainingConfig field for both sides")
    args = parser.parse_args()
    settings = [*QUIET, *args.set]
    load = os.getloadavg()
    # the campaign's runs are child processes of this one: both sides inherit the thread count
    done = subprocess.run([sys.executable, "-m", "worldflux.cli", "parity", "run", "--preset", args.preset,
                           "--env", args.env, "--seeds", str(args.seeds), "--steps", str(args.steps),
                           "--out", str(args.out), "--parallel", "1",
                           *[a for s in settings for a in ("--set", s)]],
                          env={**os.environ, "OMP_NUM_THREADS": str(args.threads)}, check=False)
    if done.returncode:
        raise SystemExit("The campaign did not finish (its error is above); run the same command again to continue.")
    runs = json.loads((args.out / "campaign.json").read_text())["runs"]
    print(f"{args.preset} on {args.env}, {args.steps:,} env steps, {args.seeds} seed(s) per side, one run at a "
          f"time; OMP_NUM_THREADS={args.threads}; {device_name('cpu')}")
    print(f"settings of both sides: {' '.join(settings)}")
    rates: dict[str, list[float]] = {}
    for run in runs:
        t = throughput(Path(run["run_dir"]))
        rate = t["steps"] / t["wall_s"]
        rates.setdefault(run["side"], []).append(rate)
        updates = "" if t["updates"] is None else f", {t['updates']:,} updates, {t['updates'] / t['wall_s']:.2f}/s"
        less = f" (less its step-0 evaluation, {t['eval_s']:.0f} s)" if t["eval_s"] else ""
        print(f"{run['side']:8s} seed {run['seed']}: {t['wall_s']:8.1f} s{less}, {rate:.2f} env steps/s{updates}")
    native, official = statistics.median(rates["native"]), statistics.median(rates["official"])
    print(f"median env steps/s: native {native:.2f}, official {official:.2f}; native is {native / official:.2f}x "
          f"the official speed")
    print(f"load average (1 min) before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
