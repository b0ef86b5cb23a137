"""Sharing the machine: N training runs at once on C cores, each under a thread policy, against one run alone.

    python -m benchmarks.sharing                      # 1, 2 and 3 runs; spinning, sleeping, one thread each
    python -m benchmarks.sharing --runs 1 4 --steps 1200

Each run is ``worldflux train tdmpc2:quick --env Pendulum-v1 --steps STEPS`` with one evaluation at the end,
started together with the others of its batch. Policies (OpenMP settings in the runs' environment):

- ``spinning``: ``GOMP_SPINCOUNT=300000``, libgomp's own default (what torch does unless told otherwise);
- ``short-spin``: ``GOMP_SPINCOUNT=1000``, waiting threads spin briefly (libgomp reckons 10 microseconds), then sleep;
- ``sleeping``: ``OMP_WAIT_POLICY=PASSIVE``, waiting threads sleep at once (worldflux's default, see
  worldflux.threads);
- ``one-thread``: ``OMP_NUM_THREADS=1`` (no thread waits for another).

It prints, per policy and N, the median wall time of the N runs, their slowdown against the same policy's
single run, the fair slowdown max(1, N / C), and the 1-minute load average at the end. A batch still running
after ``--timeout`` seconds is stopped and shown as slower than that.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from worldflux.threads import WAIT_SETTINGS

WORLDFLUX = str(Path(sys.executable).with_name("worldflux"))  # the worldflux of this environment
THREAD_SETTINGS = (*WAIT_SETTINGS, "OMP_NUM_THREADS", "MKL_NUM_THREADS")  # cleared, then set by the policy
POLICIES = {"spinning": {"GOMP_SPINCOUNT": "300000"}, "short-spin": {"GOMP_SPINCOUNT": "1000"},
            "sleeping": {"OMP_WAIT_POLICY": "PASSIVE"}, "one-thread": {"OMP_NUM_THREADS": "1"}}


def batch(n: int, policy: dict[str, str], steps: int, timeout: float, out: Path) -> list[float | None]:
    """Start ``n`` runs together; each one's wall time in seconds (None: stopped at the timeout)."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_SETTINGS} | policy
    command = [WORLDFLUX, "train", "tdmpc2:quick", "--env", "Pendulum-v1", "--steps", str(steps),
               "--set", f"eval_every={steps}", "--set", f"checkpoint_every={steps}"]
    start = time.monotonic()
    procs = [subprocess.Popen([*command, "--seed", str(i), "--out", str(out / f"run{i}")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in range(n)]
    walls: list[float | None] = [None] * n
    while any(w is None for w in walls) and time.monotonic() - start < timeout:
        for i, proc in enumerate(procs):
            if walls[i] is None and proc.poll() is not None:
                if proc.returncode:
                    raise SystemExit(f"run {i} failed: {proc.stderr.read().strip().splitlines()[-1:]}")
                walls[i] = time.monotonic() - start
        time.sleep(0.2)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 2, 3], help="runs started together")
    parser.add_argument("--policies", nargs="+", choices=list(POLICIES), default=list(POLICIES))
    parser.add_argument("--steps", type=int, default=1100, help="env steps per run (1,000 are random seeding)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a batch is stopped")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores; each run: worldflux train tdmpc2:quick --env Pendulum-v1 --steps {args.steps}\n")
    print("| policy | runs | median wall s | slowdown | fair slowdown | load (1 min) |")
    print("|---|---|---|---|---|---|")
    for name in args.policies:
        alone = None
        for n in sorted(args.runs):
            with tempfile.TemporaryDirectory() as out:
                walls = batch(n, POLICIES[name], args.steps, args.timeout, Path(out))
            load = os.getloadavg()[0]
            if any(w is None for w in walls):
                wall, slowdown = f"> {args.timeout:.0f} (stopped)", "–"
            else:
                median = statistics.median(w for w in walls if w is not None)
                alone = median if n == 1 else alone
                wall, slowdown = f"{median:.1f}", f"{median / alone:.2f}x" if alone else "–"
            print(f"| {name} | {n} | {wall} | {slowdown} | {max(1.0, n / cores):.2f}x | {load:.1f} |", flush=True)


if __name__ == "__main__":
    main()
