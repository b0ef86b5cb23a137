"""Campaign reports from run directories: curve summaries, paired statistics, files; campaign checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from worldflux.errors import ConfigError, WorldFluxError
from worldflux.parity.campaign import CAMPAIGN_FILE, Campaign, read_campaign
from worldflux.parity.report import campaign_report, curve_summary, markdown, write_report
from worldflux.parity.stats import paired_comparison
from worldflux.runs.curves import read_curve

STEPS = 1000


def _campaign(tmp_path: Path, curves: dict[tuple[str, str, int], list[tuple[int, float]]]) -> Path:
    """A campaign directory whose runs have the given (step, eval_return) records."""
    campaign = Campaign(preset="tdmpc2:ci", backend="ray", tasks=sorted({t for _, t, _ in curves}),
                        seeds=sorted({s for _, _, s in curves}), steps=STEPS, training={"eval_every": 250})
    out = tmp_path / "camp"
    out.mkdir(parents=True)
    (out / CAMPAIGN_FILE).write_text(json.dumps({"campaign": campaign.to_dict(), "runs": campaign.runs(out)}))
    for (side, task, seed), points in curves.items():
        run = campaign.run_dir(out, side, task, seed)
        run.mkdir(parents=True)
        lines = [json.dumps({"step": s, "eval_return": v, "return": v - 1}) for s, v in points]
        (run / "metrics.jsonl").write_text("\n".join(lines + ['{"step": 1000, "eval_ret']) + "\n")  # a cut line
    return out


def _linear(slope: float, offset: float = 0.0) -> list[tuple[int, float]]:
    return [(s, offset + slope * s) for s in (250, 500, 750, 1000)]


def test_curve_summaries_are_the_last_records_and_the_normalized_area() -> None:
    steps, values = np.array([250.0, 500, 750, 1000]), np.array([0.0, 10, 20, 30])
    assert curve_summary(steps, values, 1000, final_fraction=0.1) == {"final": 30.0, "auc": 15.0}
    assert curve_summary(steps, values, 1000, final_fraction=0.5)["final"] == 20.0  # records from step 500 on


def test_report_pairs_seeds_and_matches_the_statistics(tmp_path: Path) -> None:
    curves = {}
    for seed, (a, b) in enumerate([(0.10, 0.09), (0.12, 0.12), (0.08, 0.10)]):
        curves[("native", "A", seed)] = _linear(a)
        curves[("official", "A", seed)] = _linear(b)
        curves[("native", "B", seed)] = _linear(a, 500)
        curves[("official", "B", seed)] = _linear(a / 2)
    out = _campaign(tmp_path, curves)
    report = campaign_report(out, margin="20%")
    assert report["metric"] == "eval_return"
    final_a = report["tasks"]["A"]["final"]
    assert final_a["native"] == [100.0, 120.0, 80.0] and final_a["official"] == [90.0, 120.0, 100.0]
    want = paired_comparison([100, 120, 80], [90, 120, 100], margin=0.2 * np.mean([90, 120, 100]))
    assert final_a["tost"]["p"] == pytest.approx(want.tost.p)
    assert final_a["ci_low"] == pytest.approx(want.ci_low) and final_a["mean_difference"] == pytest.approx(-10 / 3)
    # Holm over the two tasks: the smaller p is doubled, the larger kept (the adjusted ones stay monotone)
    p = [report["tasks"][t]["final"]["tost"]["p"] for t in ("A", "B")]
    assert report["tasks"]["A"]["final"]["p_holm"] == pytest.approx(min(1.0, 2 * p[0])) and p[0] < p[1]
    assert report["tasks"]["B"]["final"]["p_holm"] == pytest.approx(max(p[1], 2 * p[0]))
    assert not report["tasks"]["B"]["final"]["equivalent"]  # native is 500 higher: far outside 20%
    text = markdown(report)
    assert "| A | 100.0 ± 20.0 | 103.3 ± 15.3 | -3.3 |" in text and "not shown" in text
    paths = write_report(report, out, tmp_path / "rep")
    assert [p.name for p in paths] == ["report.json", "report.md", "curves.png"]
    assert json.loads(paths[0].read_text())["tasks"]["A"]["auc"]["native"][0] == pytest.approx(62.5)
    assert paths[2].read_bytes()[:4] == b"\x89PNG"


def test_report_can_compare_training_returns_and_refuses_a_bad_margin(tmp_path: Path) -> None:
    curves = {(side, "A", s): _linear(0.1) for side in ("native", "official") for s in (0, 1)}
    out = _campaign(tmp_path, curves)
    assert campaign_report(out, metric="return")["tasks"]["A"]["final"]["native"] == [99.0, 99.0]
    with pytest.raises(WorldFluxError, match="margin 'ten' is neither a number"):
        campaign_report(out, margin="ten")


def test_a_missing_run_is_a_clear_error(tmp_path: Path) -> None:
    curves = {(side, "A", 0): _linear(0.1) for side in ("native", "official")}
    out = _campaign(tmp_path, curves)
    (Campaign(**read_campaign(out).to_dict()).run_dir(out, "official", "A", 0) / "metrics.jsonl").unlink()
    with pytest.raises(WorldFluxError, match="metrics.jsonl is missing"):
        campaign_report(out)
    assert read_curve(Campaign(**read_campaign(out).to_dict()).run_dir(out, "native", "A", 0),
                      "eval_return")[0].tolist() == [250, 500, 750, 1000]


def test_read_campaign_refuses_other_files(tmp_path: Path) -> None:
    (tmp_path / CAMPAIGN_FILE).write_text("{}")
    with pytest.raises(WorldFluxError, match="is not a campaign file"):
        read_campaign(tmp_path)


def test_every_run_of_a_task_is_averaged_over_the_same_steps(tmp_path: Path) -> None:
    """The official TD-MPC2 also evaluates at step 0; that point must not lower its AUC against native runs."""
    curves = {(side, "A", seed): ([(0, -500.0)] if side == "official" else []) + _linear(0.1)
              for side in ("native", "official") for seed in (0, 1)}
    report = campaign_report(_campaign(tmp_path, curves), margin="5")
    auc = report["tasks"]["A"]["auc"]
    assert auc["native"] == auc["official"] == [62.5, 62.5]  # both over steps 250..1000
    assert curve_summary(np.array([0.0, 500, 1000]), np.array([0.0, 50, 100]), 1000, 0.1, span=(250, 750))[
        "auc"] == pytest.approx(50.0)


def test_one_seed_or_a_zero_margin_is_a_clear_error(tmp_path: Path) -> None:
    one = _campaign(tmp_path, {(side, "A", 0): _linear(0.1) for side in ("native", "official")})
    with pytest.raises(WorldFluxError, match="A, final: .*needs at least 2 .*A report needs two or more seeds"):
        campaign_report(one)
    zero = {(side, "A", s): _linear(0.0) for side in ("native", "official") for s in (0, 1)}
    with pytest.raises(WorldFluxError, match="positive margin"):
        campaign_report(_campaign(tmp_path / "z", zero), margin="10%")
