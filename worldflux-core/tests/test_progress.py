"""The progress line: an ETA from the measured cost of the work left, phases, and in-place redraws on a terminal."""

from __future__ import annotations

import io
import logging

import pytest

from worldflux.log import _StderrHandler, logger
from worldflux.training.config import TrainingConfig
from worldflux.training.progress import Progress, Work


def test_the_eta_waits_until_every_kind_of_work_ahead_has_been_timed_then_adds_their_costs() -> None:
    progress = Progress(total=1000, start_step=0)
    progress.spent("random_steps", 0.5, n=500)  # a fast seeding phase alone must not promise a fast run
    left = Work(random_steps=0, acting_steps=500, updates=500, evaluations=1)
    assert progress.eta(left) is None
    progress.spent("acting_steps", 0.2, n=10)
    progress.spent("updates", 2.0, n=10)
    assert progress.eta(left) is None
    progress.spent("evaluations", 30.0)
    assert progress.eta(left) == pytest.approx(500 * 0.02 + 500 * 0.2 + 30)
    assert progress.eta(Work(0, 0, 0, 0)) == 0.0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_live_lines_are_redrawn_in_place_and_other_records_end_their_line(monkeypatch) -> None:
    handler = _StderrHandler()
    handler.stream = _Terminal()
    monkeypatch.setattr(logger, "handlers", [handler])  # not the handler an earlier CLI call attached
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        progress = Progress(total=100, start_step=0)
        progress.show("seeding", 1, 0, Work(49, 50, 10, 0))  # a new phase: a line of its own
        progress.last_shown = -1e9
        progress.show("seeding", 50, 0, Work(0, 50, 10, 0))  # the same phase: redrawn in place
        logger.warning("something else")
    finally:
        logger.setLevel(old_level)
    text = handler.stream.getvalue()
    first, live, other = text.split("\r\033[K")[1:]
    assert first.endswith("\n") and "1/100 env steps | seeding" in first
    assert "eta ? (timing the first random steps and acting steps and updates)" in first
    assert not live.endswith("\n") and "50/100 env steps" in live
    assert other == "worldflux: something else\n"


def test_intervals_left_unset_follow_the_budget_and_given_ones_are_kept() -> None:
    short = TrainingConfig(steps=2000).resolved()
    assert (short.eval_every, short.checkpoint_every, short.log_every) == (500, 500, 250)
    long = TrainingConfig(steps=1_000_000).resolved()
    assert (long.eval_every, long.checkpoint_every, long.log_every) == (5000, 5000, 1000)
    never = TrainingConfig(steps=300, eval_every=0, log_every=7).resolved()
    assert (never.eval_every, never.checkpoint_every, never.log_every) == (0, 300, 7)
