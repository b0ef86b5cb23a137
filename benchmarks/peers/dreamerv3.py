"""DreamerV3 train step: native against the official JAX code or sheeprl, alternating in one run.

The official side runs in its own environment (``--python``, default
``$WORLDFLUX_DREAMERV3_PYTHON``) from a checkout (``--checkout``, default
``$WORLDFLUX_DREAMERV3_CHECKOUT``), built by the parity probe in float32 on the
CPU and jitted as the official code runs it; JAX uses all cores. Both sides
build the preset's config and must report the same parameter count. The step
is one whole training update on a batch of ``batch_size x batch_length`` steps
(official size1m defaults: 16 x 64, imagination 15). ``--peer sheeprl`` times
sheeprl's ``dreamer_v3_5`` instead (``sheeprl_worker.py``, run by sheeprl's
environment: ``--sheeprl-python``, default ``$WORLDFLUX_SHEEPRL_PYTHON``), on
the CPU in float32, with the native sizes and the same parameter count.

    python -m benchmarks.peers.dreamerv3 --rounds 6 --reps 2
    python -m benchmarks.peers.dreamerv3 --obs 3 64 64 --action-dim 6    # from pixels
    python -m benchmarks.peers.dreamerv3 --device cuda --precision bf16  # on a GPU, as officially run there
    python -m benchmarks.peers.dreamerv3 --peer sheeprl --threads 2      # against sheeprl's dreamer_v3_5
    python -m benchmarks.peers.dreamerv3 --compile                       # native with DreamerAgent.compile()
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

WORKER = Path(__file__).with_name("dreamerv3_worker.py")
SHEEPRL_WORKER = Path(__file__).with_name("sheeprl_worker.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="dreamerv3:size1m")
    parser.add_argument("--obs", type=int, nargs="+", default=[4], help="observation shape (C H W for images)")
    parser.add_argument("--action-dim", type=int, default=2)
    parser.add_argument("--continuous", action="store_true", help="continuous actions (default: discrete)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                        help="a config field for both sides, e.g. --set batch_size=8")
    parser.add_argument("--peer", choices=("official", "sheeprl"), default="official")
    parser.add_argument("--sheeprl-python", default=os.environ.get("WORLDFLUX_SHEEPRL_PYTHON"),
                        help="the interpreter of an environment with sheeprl 0.8 (for --peer sheeprl)")
    parser.add_argument("--python", default=os.environ.get("WORLDFLUX_DREAMERV3_PYTHON"))
    parser.add_argument("--checkout", default=os.environ.get("WORLDFLUX_DREAMERV3_CHECKOUT"))
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (native side)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16: official compute_dtype bfloat16, native torch.autocast")
    parser.add_argument("--peer-spins", action="store_true",
                        help="the peer's threads wait as torch's own do, spinning (how its users run it); the native "
                             "side keeps the environment's, worldflux's sleeping ones unless set otherwise")
    parser.add_argument("--compile", action="store_true",
                        help="the native side compiles its RSSM steps (--set compile=true in training)")
    args = parser.parse_args()
    if args.peer == "sheeprl" and not args.sheeprl_python:
        raise SystemExit("Name sheeprl's environment: --sheeprl-python (or WORLDFLUX_SHEEPRL_PYTHON); "
                         "docs/performance.md says how to set it up.")
    if args.peer == "sheeprl" and (args.device, args.precision) != ("cpu", "fp32"):
        raise SystemExit("The sheeprl side runs on the CPU in fp32 only; drop --device and --precision.")
    if args.peer == "official" and (not args.python or not args.checkout):
        raise SystemExit("Name the official environment: --python (or WORLDFLUX_DREAMERV3_PYTHON) and --checkout "
                         "(or WORLDFLUX_DREAMERV3_CHECKOUT); docs/parity.md says how to set them up.")
    overrides: dict[str, Any] = {"obs_shape": tuple(args.obs), "action_dim": args.action_dim,
                                 "discrete_actions": not args.continuous}
    for item in args.set:
        field, _, value = item.partition("=")
        overrides[field] = json.loads(value)
    preset = catalog().resolve(args.preset)
    config = {**config_to_dict(build_config(preset, overrides)), "preset": preset.name}
    common = ["--config", json.dumps(config), "--threads", str(args.threads), "--device", args.device,
              "--precision", args.precision]
    load = os.getloadavg()
    native = Side("native", sys.executable, WORKER,
                  ["--side", "native", *common, *(["--compile"] if args.compile else [])])
    if args.peer == "sheeprl":
        peer = Side("sheeprl", args.sheeprl_python, SHEEPRL_WORKER,
                    ["--config", json.dumps(config), "--threads", str(args.threads)], spin=args.peer_spins)
    else:
        peer = Side("official", args.python, WORKER, ["--side", "official", *common, "--checkout", args.checkout],
                    spin=args.peer_spins)
    sides = [native, peer]
    medians = alternate(sides, ["train"], args.rounds, args.reps)
    print(f"{preset.name}: {sides[0].info['parameters']:,} parameters on both sides; obs {tuple(args.obs)}, "
          f"{'continuous' if args.continuous else 'discrete'} action {args.action_dim}; batch "
          f"{config['batch_size']} x {config['batch_length']}, imagination {config['imag_horizon']}")
    threads = f"{args.threads} torch threads per side" if args.peer == "sheeprl" else \
        f"native {args.threads} torch threads, official JAX on all cores"
    threads += "; native compiled (DreamerAgent.compile)" if args.compile else ""
    threads += f"; {peer.name} threads spinning" if args.peer_spins else ""
    print(f"{device_name(args.device)}, {args.precision}; {threads}; {args.rounds} rounds x {args.reps} calls per "
          f"side; warm-up native {native.info['warmup_s']:.1f} s, {peer.name} {peer.info['warmup_s']:.1f} s")
    report(medians, "native", peer.name, ["train"])
    print(f"load average (1 min) before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
