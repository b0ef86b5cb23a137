"""A progress line for training: env steps, a bar, speed and the latest returns, through the worldflux logger."""

from __future__ import annotations

import math
import time

from worldflux.log import get_logger

log = get_logger(__name__)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Logs one status line at most every ``interval`` seconds, and always at the end."""

    def __init__(self, total: int, start_step: int, interval: float = 10.0, width: int = 20) -> None:
        self.total, self.interval, self.width = total, interval, width
        self.start_step, self.start = start_step, time.monotonic()
        self.last = -math.inf

    def update(self, step: int, updates_per_s: float, ret: float | None, eval_ret: float | None,
               force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        done = step / self.total
        bar = "#" * int(done * self.width) + "." * (self.width - int(done * self.width))
        rate = (step - self.start_step) / max(now - self.start, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else math.inf
        parts = [f"[{bar}] {step}/{self.total} env steps", f"{rate:.1f} steps/s", f"{updates_per_s:.2f} updates/s"]
        if ret is not None:
            parts.append(f"return {ret:.1f}")
        if eval_ret is not None:
            parts.append(f"eval {eval_ret:.1f}")
        parts.append(f"elapsed {_clock(now - self.start)}" + (f" eta {_clock(eta)}" if math.isfinite(eta) else ""))
        log.info(" | ".join(parts))
