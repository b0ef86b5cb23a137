"""Run the learning suite (see the package docstring) and write its Markdown table and curves."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.learning.tasks import TASKS, Task
from worldflux.runs import read_metrics
from worldflux.threads import split_cores
from worldflux.training.plot import plot_runs

WORLDFLUX = str(Path(sys.executable).with_name("worldflux"))


def _finished(run_dir: Path, steps: int) -> bool:
    return any(r.get("step", 0) >= steps and "eval_return" in r for r in read_metrics(run_dir))


def run_seed(task: Task, seed: int, out: Path, precision: str = "fp32") -> dict:
    """Train one seed with the CLI as a user would; returns its outcome (never raises for a failed run)."""
    run_dir = out / task.key / f"seed{seed}"
    result = {"seed": seed, "run_dir": str(run_dir)}
    record = run_dir / "suite.json"
    if _finished(run_dir, task.steps) and record.exists():
        return {**json.loads(record.read_text()), **result}
    if run_dir.exists():
        shutil.rmtree(run_dir)  # an unfinished attempt: start it again
    command = [WORLDFLUX, "train", task.preset, "--env", task.env, "--steps", str(task.steps), "--seed", str(seed),
               "--out", str(run_dir)] + (["--set", f"precision={precision}"] if precision != "fp32" else [])
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    result["wall_s"] = round(time.monotonic() - start, 1)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {**result, "error": f"exit {done.returncode}: {tail}"}
    evals = [(r["step"], r["eval_return"]) for r in read_metrics(run_dir) if r.get("eval_return") is not None]
    result.update(evals=evals, final=evals[-1][1] if evals else None)
    record.write_text(json.dumps(result))
    return result


def _cell(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1):.1f}"


def table(results: dict[Task, list[dict]], precision: str = "fp32") -> str:
    """The Markdown table: one row per task, final evaluation return over seeds, per-seed values, wall time."""
    lines = ["| family | task | kind | preset | env | env steps | seeds | final eval return (mean ± sd) | "
             "per seed (final; evaluations) | target | reached | wall time per seed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    suffix = "" if precision == "fp32" else f" ({precision})"
    for task, seeds in results.items():
        finals = [s["final"] for s in seeds if s.get("final") is not None]
        per_seed = []
        for s in seeds:
            if "error" in s:
                per_seed.append(f"seed {s['seed']}: FAILED ({s['error']})")
            else:
                curve = ", ".join(f"{v:.0f}" for _, v in s["evals"])
                per_seed.append(f"seed {s['seed']}: {s['final']:.1f} ({curve})")
        reached = "–" if task.threshold is None else (
            f"{sum(f >= task.threshold for f in finals)} of {len(seeds)}")
        target = "–" if task.threshold is None else f"≥ {task.threshold:g}"
        walls = [s["wall_s"] for s in seeds if "wall_s" in s]
        wall = f"{np.mean(walls) / 60:.1f} min" if walls else "–"
        lines.append(f"| {task.family} | {task.name} | {task.kind} | `{task.preset}`{suffix} | `{task.env}` "
                     f"| {task.steps:,} | {len(seeds)} | {_cell(finals)} | {'<br>'.join(per_seed)} | {target} "
                     f"| {reached} | {wall} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--family", nargs="*", help="families to run (default: all)")
    parser.add_argument("--task", nargs="*", help="task names to run (default: all of the families)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--parallel", type=int, default=2, help="seeds trained at once")
    parser.add_argument("--out", type=Path, default=Path("runs/learning"))
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16: every seed trains with --set precision=bf16 (use another --out)")
    args = parser.parse_args()
    tasks = [t for t in TASKS
             if (not args.family or t.family in args.family) and (not args.task or t.name in args.task)]
    if not tasks:
        parser.error("no task matches --family/--task; the tasks are: " + ", ".join(t.key for t in TASKS))
    jobs = [(task, seed) for task in tasks for seed in args.seeds]
    with split_cores(args.parallel) as threads, ThreadPoolExecutor(args.parallel) as pool:
        print(f"{len(jobs)} runs, {args.parallel} at a time, {threads} torch thread(s) each", flush=True)
        outcomes = list(pool.map(lambda job: run_seed(job[0], job[1], args.out, args.precision), jobs))
    results: dict[Task, list[dict]] = {task: [] for task in tasks}
    for (task, _), outcome in zip(jobs, outcomes):
        results[task].append(outcome)
        print(f"{task.key} seed {outcome['seed']}: " + (outcome.get("error") or f"final {outcome['final']:.1f} in "
                                                          f"{outcome['wall_s']:.0f} s"), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    for task, seeds in results.items():
        runs = [s["run_dir"] for s in seeds if "error" not in s]
        if runs:  # the seeds are one group by construction, whatever else their run.json records
            plot_runs(runs, args.out / f"{task.key}.png", groups={f"{task.preset} on {task.env}": runs})
    text = table(results, args.precision)
    (args.out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
