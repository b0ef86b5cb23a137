"""Where a training run is and when it will end, reported through the worldflux logger.

The ETA adds up the measured cost of the work that is left (env steps,
updates and evaluations, each timed on its own), so a fast seeding phase does
not promise a fast run; until a kind of work that is still ahead has been
timed once, the ETA is shown as unknown rather than guessed. On a terminal the
line is redrawn in place (see :func:`worldflux.log.live_terminal`); elsewhere a
plain line is logged every ``interval`` seconds and at every change of phase.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

from worldflux.log import get_logger, live_terminal

log = get_logger(__name__)
REDRAW_S = 0.25  # how often a terminal line is redrawn at most
MEASURED = ("seeding", "pretraining", "training")  # the phases whose steps/s and updates/s are shown


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Work(NamedTuple):
    """Work still ahead of a run, in the units that are timed (random seeding steps cost far less than steps
    the agent acts in)."""

    random_steps: float
    acting_steps: float
    updates: float
    evaluations: float


class Progress:
    """Phase, counters, speed and ETA of one run; the loop reports the time each kind of work took."""

    def __init__(self, total: int, start_step: int, interval: float = 10.0, width: int = 20) -> None:
        self.total, self.interval, self.width = total, interval, width
        self.start = time.monotonic()
        self.cost: dict[str, float] = {}  # seconds per env step / update / evaluation (moving averages)
        self.phase = ""
        self.last_shown = -math.inf
        self.window = (self.start, start_step, 0)  # time, step, updates of the last speed sample
        self.speed = (0.0, 0.0)

    def spent(self, kind: str, seconds: float, n: int = 1) -> None:
        """Record that ``n`` units of ``kind`` (a :class:`Work` field) took ``seconds``."""
        if n <= 0:
            return
        per = seconds / n
        self.cost[kind] = per if kind not in self.cost else 0.9 * self.cost[kind] + 0.1 * per

    def eta(self, left: Work) -> float | None:
        """Seconds until the end, or None while some work ahead has never been timed."""
        total = 0.0
        for kind, amount in left._asdict().items():
            if amount > 0:
                if kind not in self.cost:
                    return None
                total += amount * self.cost[kind]
        return total

    def show(self, phase: str, step: int, updates: int, left: Work, ret: float | None = None,
             eval_ret: float | None = None, force: bool = False) -> None:
        """Report the run's state: a new phase always, otherwise at most every redraw (terminal) or interval."""
        now = time.monotonic()
        changed = phase != self.phase
        live = live_terminal()
        if not (force or changed or now - self.last_shown >= (REDRAW_S if live else self.interval)):
            return
        self.phase, self.last_shown = phase, now
        then, then_step, then_updates = self.window
        if changed or phase not in MEASURED:  # a new phase has a new speed; evaluations are timed on their own
            self.window = (now, step, updates)
        elif now - then >= 1.0:
            self.speed = ((step - then_step) / (now - then), (updates - then_updates) / (now - then))
            self.window = (now, step, updates)
        done = min(step / self.total, 1.0)
        bar = "#" * int(done * self.width) + "." * (self.width - int(done * self.width))
        parts = [f"[{bar}] {step}/{self.total} env steps", phase, f"{updates} updates",
                 f"{self.speed[0]:.1f} steps/s, {self.speed[1]:.2f} updates/s"]
        if ret is not None:
            parts.append(f"return {ret:.1f}")
        if eval_ret is not None:
            parts.append(f"eval {eval_ret:.1f}")
        eta = self.eta(left)
        parts.append(f"elapsed {_clock(now - self.start)}, eta "
                     + (_clock(eta) if eta is not None else "? (timing the first " + _untimed(self, left) + ")"))
        log.info(" | ".join(parts), extra={"live": live and not (changed or force)})


def _untimed(progress: Progress, left: Work) -> str:
    return " and ".join(k.replace("_", " ") for k, v in left._asdict().items() if v > 0 and k not in progress.cost)
