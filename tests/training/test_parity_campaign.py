"""Campaigns end to end: both sides trained as real background jobs, continued when repeated, then reported.

The "official" side here is the ray backend (a native run on a local Ray), so the test needs no official
checkout; the official backends' own launch paths have their tests in worldflux-backends.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worldflux.errors import BackendError, ConfigError
from worldflux.parity.campaign import make_campaign, read_campaign, run_campaign
from worldflux.parity.report import campaign_report, write_report

pytest.importorskip("ray")

TINY = {"batch_size": 8, "num_samples": 16, "num_elites": 4, "num_pi_trajs": 2, "iterations": 1}
TRAINING = {"seed_steps": 40, "eval_every": 0, "log_every": 110, "checkpoint_every": 220}


def test_a_campaign_trains_both_sides_continues_and_reports(tmp_path: Path) -> None:
    campaign = make_campaign("tdmpc2:ci", ["Pendulum-v1"], [0, 1], 220, backend="ray", training=TRAINING,
                             model=TINY, official={"num_cpus": 2})
    out = tmp_path / "camp"
    results = run_campaign(campaign, out, parallel=2, poll_s=0.5)
    assert [(r["side"], r["seed"], r["status"]) for r in results] == [
        ("native", 0, "finished"), ("official", 0, "finished"), ("native", 1, "finished"), ("official", 1, "finished")]
    assert read_campaign(out) == campaign
    native = json.loads((Path(results[0]["run_dir"]) / "run.json").read_text())
    assert native["training"]["seed"] == 0 and native["training"]["seed_steps"] == 40
    again = run_campaign(campaign, out, poll_s=0.5)  # nothing left to do: finished runs are kept
    assert [r["status"] for r in again] == ["finished"] * 4
    with pytest.raises(ConfigError, match="holds another campaign"):
        run_campaign(make_campaign("tdmpc2:ci", ["Pendulum-v1"], [0, 1], 600, backend="ray"), out)
    report = campaign_report(out, metric="return", margin="50")
    assert report["tasks"]["Pendulum-v1"]["final"]["native"][0] < 0  # Pendulum returns are negative
    assert [p.name for p in write_report(report, out, out / "report")] == ["report.json", "report.md", "curves.png"]


def test_a_campaign_is_checked_before_anything_starts() -> None:
    with pytest.raises(ConfigError, match="seed, steps are set by the campaign itself"):
        make_campaign("tdmpc2:ci", ["Pendulum-v1"], [0], 100, backend="ray", training={"seed": 3, "steps": 5})
    with pytest.raises(ConfigError, match="has no field 'eval_evry'"):
        make_campaign("tdmpc2:ci", ["Pendulum-v1"], [0], 100, backend="ray", training={"eval_evry": 5})
    with pytest.raises(BackendError, match="Unknown backend 'nosuch'"):
        make_campaign("tdmpc2:ci", ["Pendulum-v1"], [0], 100, backend="nosuch")
    with pytest.raises(ConfigError, match="does not run tdmpc2:ci"):
        make_campaign("tdmpc2:ci", ["Pendulum-v1"], [0], 100)  # the official backend runs official sizes only
    with pytest.raises(ConfigError, match="at least one task"):
        make_campaign("tdmpc2:1m", [], [0], 100)
