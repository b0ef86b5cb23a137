"""TD-MPC2 proof_5m speed on this machine: MPPI planning latency and update time, eager and compiled.

Plans with 512 samples x 6 iterations x horizon 3 (24 policy trajectories, 64
elites) and updates with batch 256, horizon 3. Counts each one's FLOPs with
torch's FlopCounterMode, measures the plain fp32 matmul rate in the same run,
and prints the achieved fraction of it. Then repeats with torch.compile.

    python benchmarks/tdmpc2_speed.py --obs-dim 24 --action-dim 6
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from worldflux import create_world_model
from worldflux_tdmpc2.agent import TDMPC2Agent

from benchmarks.timing import median_seconds, random_batch


def flops(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def matmul_rate(n: int = 2048, repeats: int = 10) -> float:
    """Plain fp32 matmul FLOP/s of this machine with the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / median_seconds(lambda: a @ b, repeats, warmup=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--obs-dim", type=int, default=24)
    parser.add_argument("--action-dim", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_world_model("tdmpc2:proof_5m", obs_shape=(args.obs_dim,), action_dim=args.action_dim)
    c = model.config
    agent = TDMPC2Agent(model, 1)
    planner = agent.planner
    obs = torch.randn(1, args.obs_dim)
    first = torch.tensor([False])
    t = c.horizon + 1
    batch = random_batch(torch.randn(c.batch_size, t, args.obs_dim), torch.rand(c.batch_size, t, args.action_dim) * 2 - 1)
    plan = lambda: planner.act(obs, first, explore=True)  # noqa: E731
    update = lambda: agent.update(batch)  # noqa: E731
    rate = matmul_rate()
    plan_flops, update_flops = flops(plan), flops(update)
    print(f"proof_5m: {model.num_parameters():,} parameters; obs {args.obs_dim}, action {args.action_dim}; "
          f"{args.threads} threads")
    print(f"plain fp32 matmul (2048^3): {rate / 1e9:.1f} GFLOP/s")
    rows = []
    for mode in ("eager", "compiled"):
        if mode == "compiled":
            start = time.perf_counter()
            planner.estimate_value = torch.compile(planner.estimate_value)
            model.loss = torch.compile(model.loss)
            model.policy_loss = torch.compile(model.policy_loss)
            plan(), update()
            print(f"torch.compile warm-up (planner value + update losses): {time.perf_counter() - start:.0f}s")
        p, u = median_seconds(plan, args.repeats, warmup=2), median_seconds(update, args.repeats, warmup=2)
        rows.append((mode, p, u))
        print(f"{mode:9s} plan {p * 1e3:8.1f} ms  ({plan_flops / 1e9:.2f} GFLOP, "
              f"{plan_flops / p / rate:6.1%} of matmul rate)   update {u * 1e3:8.1f} ms  "
              f"({update_flops / 1e9:.2f} GFLOP, {update_flops / u / rate:6.1%} of matmul rate)")
    (_, pe, ue), (_, pc, uc) = rows
    print(f"torch.compile speed-up: plan x{pe / pc:.2f}, update x{ue / uc:.2f}")


if __name__ == "__main__":
    main()
