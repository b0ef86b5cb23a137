"""Workers that each hold one implementation warm, asked for timings in turn by one driver.

A worker prints ``{"parameters": N, "warmup_s": S, ...}`` on its protocol pipe
once built, then answers each ``{"op": NAME, "reps": K}`` on stdin with
``{"times": [...]}``. :func:`worker_loop` is that loop (workers run as scripts from
this folder import this module directly, so it needs only the standard library);
:class:`Side` is the driver's end.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[2]


def by_path(name: str, relative: str) -> types.ModuleType:
    """A file of this repository as a module: the official environments have no worldflux to import it from."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def protocol_pipe() -> TextIO:
    """The original stdout, for the protocol; what the code under test prints goes to stderr from here on."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def device_name(device: str) -> str:
    """What the timings ran on, for the report: the GPU's name, or the CPU's."""
    if device == "cuda":
        import torch

        return f"{torch.cuda.get_device_name()} (torch {torch.__version__})"
    cpuinfo = Path("/proc/cpuinfo")
    model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                  if ln.startswith("model name")), "?") if cpuinfo.exists() else "?"
    return f"CPU: {model}"


def synchronised(fn: Callable[[], Any], device: str) -> Callable[[], Any]:
    """``fn``, on ``cuda`` followed by waiting for the GPU, so that a timed call includes the work it queued."""
    if device != "cuda":
        return fn
    import torch

    def call() -> None:
        fn()
        torch.cuda.synchronize()

    return call


def worker_loop(proto: TextIO, info: dict[str, Any], ops: dict[str, Callable[[], Any]]) -> None:
    """Report ``info``, then time the requested ops until stdin closes."""
    proto.write(json.dumps(info) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        fn, times = ops[request["op"]], []
        for _ in range(request["reps"]):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        proto.write(json.dumps({"times": times}) + "\n")


def spinning_env() -> dict[str, str]:
    """This environment with torch's own OpenMP wait (libgomp's 300,000 spins, then sleep) for any wait setting.

    Only the driver calls it; workers import this module without worldflux.
    """
    from worldflux.threads import WAIT_SETTINGS

    return {**{k: v for k, v in os.environ.items() if k not in WAIT_SETTINGS}, "GOMP_SPINCOUNT": "300000"}


class Side:
    """The driver's end of a worker process (the worker script run by ``python``)."""

    def __init__(self, name: str, python: str, worker: Path, args: list[str], spin: bool = False) -> None:
        self.name = name
        # each inherits this environment, so the same OpenMP wait policy (importing worldflux set the library's),
        # unless ``spin``: then torch's own, threads that spin a while before they sleep, as its users run a peer
        env = spinning_env() if spin else None
        self.process = subprocess.Popen([python, str(worker), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=env)
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


def alternate(sides: list[Side], ops: list[str], rounds: int, reps: int) -> dict[tuple[str, str], float]:
    """Median seconds per (side, op): each round asks every side for ``reps`` calls of each op, the side order
    reversed every other round, so that both see the same machine state. Closes the sides."""
    counts = {s.name: s.info["parameters"] for s in sides}
    if len(set(counts.values())) != 1:
        for side in sides:
            side.close()
        raise SystemExit(f"The sides built different models: {counts} parameters.")
    times: dict[tuple[str, str], list[float]] = {}
    for r in range(rounds):
        for op in ops:
            for side in sides if r % 2 == 0 else sides[::-1]:
                times.setdefault((side.name, op), []).extend(side.time(op, reps))
    for side in sides:
        side.close()
    return {key: statistics.median(values) for key, values in times.items()}


def report(medians: dict[tuple[str, str], float], native: str, peer: str, ops: list[str]) -> None:
    """One line per op: both medians and how many times the peer's time the native one is."""
    for op in ops:
        ours, theirs = medians[(native, op)], medians[(peer, op)]
        print(f"{op:10s}  {native} {ours * 1e3:9.1f} ms   {peer} {theirs * 1e3:9.1f} ms   "
              f"{native} is {theirs / ours:.2f}x the {peer} speed")
