"""TD-MPC2 update and MPPI plan: native against the official code, alternating in one run.

The official side runs in its own environment (``--python``, default
``$WORLDFLUX_TDMPC2_PYTHON``) from a checkout (``--checkout``, default
``$WORLDFLUX_TDMPC2_CHECKOUT``), made to run on CPU in memory as the backend does
(see ``worldflux_tdmpc2.parity_probe``). Both sides build the preset's config
(official defaults: batch 256, horizon 3, MPPI 6 iterations x 512 samples with
24 policy trajectories) and must report the same parameter count. Each round
asks one side for ``--reps`` timed calls of an op, then the other, the order
swapped every round; the figures are medians over all rounds.

    python -m benchmarks.peers.tdmpc2 --rounds 8 --reps 3
    python -m benchmarks.peers.tdmpc2 --compile     # torch.compile on both sides
    python -m benchmarks.peers.tdmpc2 --precision bf16   # native under bf16 autocast; the official code is fp32 only
    python -m benchmarks.peers.tdmpc2 --device cuda --compile   # on a GPU: with CUDA graphs on both sides
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from worldflux.building import build_config
from worldflux.config import config_to_dict
from worldflux.state import catalog

from benchmarks.peers.alternate import Side, alternate, device_name, report

WORKER = Path(__file__).with_name("tdmpc2_worker.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tdmpc2:proof_5m")
    parser.add_argument("--obs-dim", type=int, default=24)
    parser.add_argument("--action-dim", type=int, default=6)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                        help="a config field for both sides, e.g. --set batch_size=64")
    parser.add_argument("--python", default=os.environ.get("WORLDFLUX_TDMPC2_PYTHON"))
    parser.add_argument("--checkout", default=os.environ.get("WORLDFLUX_TDMPC2_CHECKOUT"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--peer-spins", action="store_true",
                        help="the peer's threads wait as torch's own do, spinning (how its users run it); the native "
                             "side keeps the environment's, worldflux's sleeping ones unless set otherwise")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16: the native side under bf16 autocast (TrainingConfig precision); the official "
                             "code trains in fp32 only, so its side stays fp32")
    args = parser.parse_args()
    if not args.python or not args.checkout:
        raise SystemExit("Name the official environment: --python (or WORLDFLUX_TDMPC2_PYTHON) and --checkout "
                         "(or WORLDFLUX_TDMPC2_CHECKOUT); docs/parity.md says how to set them up.")
    overrides: dict[str, Any] = {"obs_shape": (args.obs_dim,), "action_dim": args.action_dim}
    for item in args.set:
        field, _, value = item.partition("=")
        overrides[field] = json.loads(value)
    preset = catalog().resolve(args.preset)
    config = {**config_to_dict(build_config(preset, overrides)), "preset": preset.name}
    common = (["--config", json.dumps(config), "--threads", str(args.threads), "--device", args.device]
              + (["--compile"] if args.compile else []))
    load = os.getloadavg()
    sides = [Side("native", sys.executable, WORKER, ["--side", "native", *common, "--precision", args.precision]),
             Side("official", args.python, WORKER, ["--side", "official", *common, "--checkout", args.checkout],
                  spin=args.peer_spins)]
    medians = alternate(sides, ["update", "plan"], args.rounds, args.reps)
    mode = "compiled (torch.compile on both sides)" if args.compile else "eager"
    mode += f" on {device_name(args.device)}"
    mode += "; official threads spinning" if args.peer_spins else ""
    mode += "; native bf16 autocast, official fp32" if args.precision == "bf16" else ""
    print(f"{preset.name}: {sides[0].info['parameters']:,} parameters on both sides; obs {args.obs_dim}, action "
          f"{args.action_dim}; batch {config['batch_size']}, horizon {config['horizon']}; MPPI "
          f"{config['iterations']} x {config['num_samples']} ({config['num_pi_trajs']} policy trajectories)")
    print(f"{mode}; {args.threads} threads per side; {args.rounds} rounds x {args.reps} calls per side and op; "
          f"warm-up native {sides[0].info['warmup_s']:.1f} s, official {sides[1].info['warmup_s']:.1f} s")
    report(medians, "native", "official", ["update", "plan"])
    print(f"load average (1 min) before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
