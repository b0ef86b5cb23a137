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
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from worldflux.building import build_config
from worldflux.config import config_to_dict
from worldflux.state import catalog

WORKER = Path(__file__).with_name("tdmpc2_worker.py")


class Side:
    """A worker process holding one implementation, warm, answering timing requests."""

    def __init__(self, name: str, python: str, args: list[str]) -> None:
        self.name = name
        # both inherit this environment, so the same OpenMP wait policy (importing worldflux set the library's)
        self.process = subprocess.Popen([python, str(WORKER), "--side", name, *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit(f"The {self.name} worker stopped (exit {self.process.wait()}); its stderr is above.")
        return json.loads(line)

    def time(self, op: str, reps: int) -> list[float]:
        self.process.stdin.write(json.dumps({"op": op, "reps": reps}) + "\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]
        return self._read()["times"]

    def close(self) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        self.process.wait()


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
    parser.add_argument("--compile", action="store_true")
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
    common = ["--config", json.dumps(config), "--threads", str(args.threads)] + (["--compile"] if args.compile else [])
    load = os.getloadavg()
    sides = [Side("native", sys.executable, common), Side("official", args.python, [*common, "--checkout",
                                                                                        args.checkout])]
    counts = {s.name: s.info["parameters"] for s in sides}
    if len(set(counts.values())) != 1:
        raise SystemExit(f"The sides built different models: {counts} parameters.")
    times: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for op in ("update", "plan"):
            for side in sides if r % 2 == 0 else sides[::-1]:
                times.setdefault((side.name, op), []).extend(side.time(op, args.reps))
    for side in sides:
        side.close()
    mode = "compiled (torch.compile on both sides)" if args.compile else "eager"
    print(f"{preset.name}: {counts['native']:,} parameters on both sides; obs {args.obs_dim}, action "
          f"{args.action_dim}; batch {config['batch_size']}, horizon {config['horizon']}; MPPI "
          f"{config['iterations']} x {config['num_samples']} ({config['num_pi_trajs']} policy trajectories)")
    print(f"{mode}; {args.threads} threads per side; {args.rounds} rounds x {args.reps} calls per side and op; "
          f"warm-up native {sides[0].info['warmup_s']:.1f} s, official {sides[1].info['warmup_s']:.1f} s")
    for op in ("update", "plan"):
        native, official = (statistics.median(times[(s, op)]) for s in ("native", "official"))
        print(f"{op:6s}  native {native * 1e3:8.1f} ms   official {official * 1e3:8.1f} ms   "
              f"native is {official / native:.2f}x the official speed")
    print(f"load average (1 min) before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
