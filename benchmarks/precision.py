"""Whether bfloat16 pays on this CPU (or GPU): what the hardware offers, and fp32 against bf16 timings.

Prints the CPU's flags that matter (avx512*, amx*, avx2, fma), torch's CPU
capability, a 512^3 matmul in fp32 and bf16, one TD-MPC2 update and plan
(``tdmpc2:proof_5m``, obs 24, action 6) and one DreamerV3 train step
(``dreamerv3:size1m``, CartPole's shapes, batch 16 x 64) in fp32 and under
``torch.autocast`` with bfloat16, each the median of a few calls, with
worldflux's sleeping threads. On ``--device cuda`` the GPU is named instead of
the CPU flags, and each timed call waits for the GPU.

    python -m benchmarks.precision --threads 2
    python -m benchmarks.precision --device cuda
"""

from __future__ import annotations

import argparse
from pathlib import Path

import worldflux  # noqa: F401  (before torch: torch's threads then wait as in worldflux runs, sleeping)
import torch  # noqa: I001
from worldflux import create_world_model
from worldflux_dreamer.agent import DreamerAgent
from worldflux_tdmpc2.agent import TDMPC2Agent

from benchmarks.peers.alternate import device_name, synchronised
from benchmarks.timing import median_seconds, random_batch


def cpu_flags() -> str:
    """The flags of /proc/cpuinfo that decide fast bf16 (empty where the file does not exist)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return "(no /proc/cpuinfo)"
    line = next((ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("flags")), "")
    flags = sorted(f for f in line.split() if f.startswith(("avx", "amx", "fma")))
    return " ".join(flags) or "(none of avx*, amx*, fma)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dev = args.device
    if dev == "cuda":
        print(f"{device_name(dev)}; {args.threads} CPU threads")
    else:
        capability = next((ln.strip() for ln in torch.__config__.show().splitlines() if "CPU capability" in ln), "?")
        print(f"CPU flags: {cpu_flags()}; torch {torch.__version__}: {capability}; {args.threads} threads")
    a, b = torch.randn(512, 512, device=dev), torch.randn(512, 512, device=dev)
    fp32 = median_seconds(synchronised(lambda: a @ b, dev), 10) * 1e3
    bf16 = median_seconds(synchronised(lambda: a.bfloat16() @ b.bfloat16(), dev), args.repeats) * 1e3
    print(f"matmul 512^3: fp32 {fp32:.2f} ms, bf16 {bf16:.2f} ms ({bf16 / fp32:.1f}x the fp32 time)")
    torch.manual_seed(0)
    model = create_world_model("tdmpc2:proof_5m", obs_shape=(24,), action_dim=6, device=dev)
    agent = TDMPC2Agent(model, 1)
    c = model.config
    n, t = c.batch_size, c.horizon + 1
    batch = random_batch(torch.randn(n, t, 24), torch.rand(n, t, 6) * 2 - 1).to(dev)
    obs, first = torch.randn(1, 24, device=dev), torch.tensor([False], device=dev)
    dreamer = DreamerAgent(create_world_model("dreamerv3:size1m", obs_shape=(4,), action_dim=2,
                                              discrete_actions=True, device=dev), 1)
    d = dreamer.model.config
    actions = torch.nn.functional.one_hot(torch.randint(0, 2, (d.batch_size, d.batch_length)), 2).float()
    sequences = random_batch(torch.randn(d.batch_size, d.batch_length, 4), actions).to(dev)
    for name, fn in (("tdmpc2:proof_5m update", lambda: agent.update(batch)),
                     ("tdmpc2:proof_5m plan", lambda: agent.act(obs, first, True)),
                     ("dreamerv3:size1m train step", lambda: dreamer.update(sequences))):
        fp32 = median_seconds(synchronised(fn, dev), args.repeats) * 1e3
        with torch.autocast(dev, dtype=torch.bfloat16):
            bf16 = median_seconds(synchronised(fn, dev), args.repeats) * 1e3
        print(f"{name}: fp32 {fp32:.1f} ms, bf16 autocast {bf16:.1f} ms ({bf16 / fp32:.2f}x the fp32 time)")


if __name__ == "__main__":
    main()
