"""Speed and memory of the Trainer with the unmodified ci presets of both families (CPU).

Runs each family in its own process (so peak memory is its own) for a short
run with no evaluation, and prints: wall time, env steps/s and updates/s over
the whole run and over the training phase (after random seeding), and the
process's peak resident memory.

    python -m benchmarks.training_speed --threads 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time

RUNS = {"tdmpc2:ci": ("Pendulum-v1", 2000), "dreamer:ci": ("CartPole-v1", 2000)}


def measure(model: str, threads: int) -> dict:
    import torch

    from worldflux.training import Trainer, TrainingConfig, create_for_env
    from worldflux.runs import read_metrics

    torch.set_num_threads(threads)
    env, steps = RUNS[model]
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(create_for_env(model, env), TrainingConfig(
            env=env, steps=steps, eval_every=0, log_every=100, checkpoint_every=steps, run_dir=run_dir))
        start = time.perf_counter()
        summary = trainer.fit()
        wall = time.perf_counter() - start
        training = [r for r in read_metrics(run_dir) if r["updates"] > 0 and "updates_per_s" in r][1:]
    return {"model": model, "env": env, "steps": summary["steps"], "updates": summary["updates"],
            "wall_s": wall, "env_steps_per_s": summary["steps"] / wall, "updates_per_s": summary["updates"] / wall,
            "training_env_steps_per_s": sum(r["env_steps_per_s"] for r in training) / len(training),
            "training_updates_per_s": sum(r["updates_per_s"] for r in training) / len(training),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.threads)))
        return
    print("model        env           steps  updates   wall_s  steps/s  updates/s  training steps/s  "
          "training updates/s  peak RSS MiB")
    for model in RUNS:
        out = subprocess.run([sys.executable, "-m", "benchmarks.training_speed", "--one", model, "--threads",
                              str(args.threads)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['model']:12s} {r['env']:12s} {r['steps']:6d} {r['updates']:8d} {r['wall_s']:8.1f} "
              f"{r['env_steps_per_s']:8.1f} {r['updates_per_s']:10.2f} {r['training_env_steps_per_s']:17.1f} "
              f"{r['training_updates_per_s']:19.2f} {r['peak_rss_mib']:13.0f}")


if __name__ == "__main__":
    main()
