"""How a step's cost grows with model size, batch size and number of environments, with peak memory.

Each point runs in its own process (so its peak resident memory is its own),
builds the model at the reference spec (TD-MPC2: obs 24, action 6; DreamerV3:
obs 4, two discrete actions), makes one warm-up call and prints the median of
``--repeats`` timed calls:

- TD-MPC2 update (batch 256, horizon 3) and MPPI plan for one environment, per official size;
  the 5M update per batch size; the 5M plan per number of environments planned at once;
- DreamerV3 train step (batch 16 x 64, imagination 15) per official size, and size1m per batch size.

A point that does not finish within ``--timeout`` seconds is reported as such.
On ``--device cuda`` every timed call waits for the GPU, the peak is the GPU
memory torch allocated, and DreamerV3 goes on to its largest size.

    python -m benchmarks.scaling --threads 2
    python -m benchmarks.scaling --device cuda
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from typing import Any

from benchmarks.peers.alternate import device_name, synchronised

TDMPC2_SIZES = ["tdmpc2:1m", "tdmpc2:5m", "tdmpc2:19m", "tdmpc2:48m", "tdmpc2:317m"]
DREAMER_SIZES = ["dreamerv3:size1m", "dreamerv3:size12m", "dreamerv3:size25m", "dreamerv3:size50m"]
DREAMER_GPU_SIZES = ["dreamerv3:size100m", "dreamerv3:size200m", "dreamerv3:size400m"]  # hours per step on 2 cores


def points(device: str) -> list[dict[str, Any]]:
    dreamer = DREAMER_SIZES + (DREAMER_GPU_SIZES if device == "cuda" else [])
    return ([{"preset": p, "ops": ["update", "plan"]} for p in TDMPC2_SIZES]
            + [{"preset": "tdmpc2:5m", "ops": ["update"], "batch_size": b} for b in (64, 128, 512)]
            + [{"preset": "tdmpc2:5m", "ops": ["plan"], "envs": e} for e in (2, 4, 8)]
            + [{"preset": p, "ops": ["train"]} for p in dreamer]
            + [{"preset": "dreamerv3:size1m", "ops": ["train"], "batch_size": b} for b in (4, 8, 32)])


def measure(point: dict[str, Any], threads: int, repeats: int, device: str) -> dict[str, Any]:
    """Median milliseconds of each op of ``point`` and the process's peak memory (resident, or GPU on cuda)."""
    import torch
    from worldflux import create_world_model

    from benchmarks.timing import median_seconds, random_batch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    overrides = {"batch_size": point["batch_size"]} if "batch_size" in point else {}
    ops: dict[str, Any] = {}
    if point["preset"].startswith("tdmpc2"):
        from worldflux_tdmpc2.agent import TDMPC2Agent

        model = create_world_model(point["preset"], obs_shape=(24,), action_dim=6, device=device, **overrides)
        envs = point.get("envs", 1)
        agent = TDMPC2Agent(model, envs)
        b, t = model.config.batch_size, model.config.horizon + 1
        batch = random_batch(torch.randn(b, t, 24), torch.rand(b, t, 6) * 2 - 1).to(device)
        obs, first = torch.randn(envs, 24, device=device), torch.zeros(envs, dtype=torch.bool, device=device)
        ops = {"update": lambda: agent.update(batch), "plan": lambda: agent.act(obs, first, True)}
    else:
        from worldflux_dreamer.agent import DreamerAgent

        model = create_world_model(point["preset"], obs_shape=(4,), action_dim=2, discrete_actions=True,
                                   device=device, **overrides)
        agent = DreamerAgent(model, 1)
        b, t = model.config.batch_size, model.config.batch_length
        action = torch.nn.functional.one_hot(torch.randint(0, 2, (b, t)), 2).float()
        batch = random_batch(torch.randn(b, t, 4), action).to(device)
        ops = {"train": lambda: agent.update(batch)}
    result: dict[str, Any] = {"parameters": model.num_parameters()}
    for op in point["ops"]:
        result[op] = median_seconds(synchronised(ops[op], device), repeats) * 1e3
    result["peak_mib"] = (torch.cuda.max_memory_allocated() if device == "cuda" else
                          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**20
    return result


def label(point: dict[str, Any]) -> str:
    extra = ([f"batch {point['batch_size']}"] if "batch_size" in point else []) + \
        ([f"{point['envs']} envs"] if "envs" in point else [])
    return point["preset"] + (f" ({', '.join(extra)})" if extra else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per point")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(json.loads(args.one), args.threads, args.repeats, args.device)))
        return
    peak = "peak GPU MiB" if args.device == "cuda" else "peak RSS MiB"
    print(f"{device_name(args.device)}; {args.threads} threads, median of {args.repeats} calls after one warm-up")
    print(f"{'point':40s} {'parameters':>12s} {'op':>7s} {'ms':>10s} {peak:>13s}")
    for point in points(args.device):
        command = [sys.executable, "-m", "benchmarks.scaling", "--one", json.dumps(point), "--threads",
                   str(args.threads), "--repeats", str(args.repeats), "--device", args.device]
        try:
            out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"{label(point):40s} did not finish in {args.timeout:.0f} s", flush=True)
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        for op in point["ops"]:
            print(f"{label(point):40s} {r['parameters']:12,d} {op:>7s} {r[op]:10.1f} {r['peak_mib']:13.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
