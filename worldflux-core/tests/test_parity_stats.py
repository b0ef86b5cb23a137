"""Learning-curve parity statistics, checked against scipy, closed forms and hand-worked cases."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest

from worldflux.parity import stats as ps

scipy_stats = pytest.importorskip("scipy.stats")
scipy_integrate = pytest.importorskip("scipy.integrate")

# Any numpy RuntimeWarning (division by zero, invalid value) from the module fails the test.
pytestmark = pytest.mark.filterwarnings("error")


def test_module_does_not_import_scipy() -> None:
    tree = ast.parse(Path(ps.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name == "scipy" or name.startswith("scipy.") for name in imported)


# --- curve summaries ---------------------------------------------------------------------------


def test_final_return_averages_the_last_evaluations() -> None:
    steps, values = [0, 10, 20, 30], [1.0, 2.0, 4.0, 8.0]
    assert ps.final_return(steps, values) == 8.0
    assert ps.final_return(steps, values, last=3) == pytest.approx(14 / 3)
    assert ps.final_return(steps, values, last=4) == pytest.approx(15 / 4)
    for last in (0, 5):
        with pytest.raises(ValueError, match="last must be between 1 and the number of evaluations"):
            ps.final_return(steps, values, last=last)


def test_normalized_auc_is_the_average_height() -> None:
    assert ps.normalized_auc([0, 5, 100], [3.0, 3.0, 3.0]) == pytest.approx(3.0)
    # A straight line averages to its midpoint, whatever the spacing of the evaluations.
    steps = np.array([1e3, 2e3, 7e3, 5e4, 1e5])
    assert ps.normalized_auc(steps, 2 * steps + 1) == pytest.approx(2 * (1e3 + 1e5) / 2 + 1)
    rng = np.random.default_rng(0)
    steps = np.cumsum(rng.uniform(1, 1000, size=50))
    values = rng.normal(size=50)
    expected = scipy_integrate.trapezoid(values, steps)
    assert ps.normalized_auc(steps, values) == pytest.approx(expected / (steps[-1] - steps[0]), rel=1e-12)
    assert ps.normalized_auc([500], [7.5]) == 7.5


@pytest.mark.parametrize(("steps", "values", "message"), [
    ([0, 20, 10], [1, 2, 3], r"strictly increasing; steps\[1\]=20 is followed by steps\[2\]=10"),
    ([0, 10, 10], [1, 2, 3], r"strictly increasing"),
    ([0, 10, 20], [1, 2], r"same length; got shapes \(3,\) and \(2,\)"),
    ([[0, 1]], [[1, 2]], r"1-D"),
    ([], [], r"at least one evaluation"),
    ([0, 10], [1.0, float("nan")], r"finite"),
])
def test_curve_validation(steps: list, values: list, message: str) -> None:
    for fn in (ps.normalized_auc, ps.final_return):
        with pytest.raises(ValueError, match=message):
            fn(steps, values)


# --- Student's t ---------------------------------------------------------------------------------

T_GRID = [0.0, 1e-12, 1e-6, 0.01, 0.3, 0.9, 1.0, 1.1, 2.0, 3.0, 5.0, 8.0, 10.0, 20.0, 38.0, 100.0, 1e3, 1e5,
          1e10]
DF_GRID = [1e-3, 0.1, 0.5, 1, 1.5, 2, 3, 4, 5, 7.3, 10, 20, 29, 30, 30.5, 31, 50, 100, 1e3, 1e4, 1e5, 1e6,
           1e8, 1e10, 1e14, 1e20]


@pytest.mark.parametrize("df", DF_GRID)
def test_student_t_matches_scipy(df: float) -> None:
    for t in [*T_GRID, *(-t for t in T_GRID)]:
        for mine, ref in ((ps.student_t_sf(t, df), scipy_stats.t.sf(t, df)),
                          (ps.student_t_cdf(t, df), scipy_stats.t.cdf(t, df))):
            if ref < 1e-300:  # scipy's underflow region: only ask for a tiny value
                assert mine < 1e-290
            else:
                assert mine == pytest.approx(ref, rel=1e-10, abs=0), (t, df)


@pytest.mark.parametrize("t", [1e-6, 0.5, 1.0, 3.0, 1e3, 1e8, 1e200])
def test_student_t_closed_forms_for_df_1_and_2(t: float) -> None:
    # df = 1 is the Cauchy distribution, df = 2 has sf = 1 / (s (s + t)) with s = sqrt(t^2 + 2),
    # exact where scipy overflows t^2 (it returns 0 for t = 1e200).
    assert ps.student_t_sf(t, 1) == pytest.approx(math.atan2(1.0, t) / math.pi, rel=1e-12)
    assert ps.student_t_cdf(-t, 1) == pytest.approx(math.atan2(1.0, t) / math.pi, rel=1e-12)
    s = math.hypot(t, math.sqrt(2.0))
    assert ps.student_t_sf(t, 2) == pytest.approx(1.0 / s / (s + t), rel=1e-12)
    assert ps.student_t_sf(-t, 2) == pytest.approx(1.0 - 1.0 / s / (s + t), rel=1e-14)


def test_student_t_limits_and_symmetry() -> None:
    for t in (0.7, 4.0, 30.0):
        assert ps.student_t_sf(t, math.inf) == pytest.approx(scipy_stats.norm.sf(t), rel=1e-12)
        for df in (1, 3.5, 40, 1e7):
            assert ps.student_t_sf(t, df) + ps.student_t_sf(-t, df) == pytest.approx(1.0, abs=1e-15)
            assert ps.student_t_cdf(t, df) == pytest.approx(1.0 - ps.student_t_sf(t, df), abs=1e-15)
    assert ps.student_t_sf(0.0, 3) == 0.5
    assert ps.student_t_sf(math.inf, 3) == 0.0 and ps.student_t_sf(-math.inf, 3) == 1.0
    assert ps.student_t_cdf(math.inf, 3) == 1.0 and ps.student_t_cdf(-math.inf, 3) == 0.0


@pytest.mark.parametrize(("t", "df"), [(1.0, 0), (1.0, -2), (1.0, math.nan), (math.nan, 3)])
def test_student_t_rejects_bad_arguments(t: float, df: float) -> None:
    with pytest.raises(ValueError, match="non-NaN t and df > 0"):
        ps.student_t_sf(t, df)


# --- TOST -------------------------------------------------------------------------------------------


def test_tost_textbook_example() -> None:
    # diffs 1..5: mean 3, se = 1/sqrt(2), df = 4. For even df, Abramowitz & Stegun 26.7.3 give
    # P(|T| < t) = sin(theta) (1 + cos(theta)^2 / 2) with tan(theta) = t / 2, so:
    # margin 4: t_upper = -sqrt(2) -> p_upper = 1/2 - 2 / (3 sqrt(3)); t_lower = 7 sqrt(2).
    res = ps.tost_paired([1, 2, 3, 4, 5], margin=4)
    assert (res.mean, res.n, res.df) == (3.0, 5, 4)
    assert res.sd == pytest.approx(math.sqrt(2.5))
    assert res.t_upper == pytest.approx(-math.sqrt(2)) and res.t_lower == pytest.approx(7 * math.sqrt(2))
    assert res.p_upper == pytest.approx(0.5 - 2 / (3 * math.sqrt(3)), rel=1e-12)  # 0.1151
    assert res.p_lower == pytest.approx((1 - 7 * 52 / (51 * math.sqrt(51))) / 2, rel=1e-9)  # 2.92e-4
    assert res.p == res.p_upper and not res.equivalent
    # margin 5: t_upper = -2 sqrt(2) -> p_upper = (1 - (7/6) sqrt(2/3)) / 2 = 0.0237 < 0.05.
    res = ps.tost_paired([1, 2, 3, 4, 5], margin=5)
    assert res.p == pytest.approx((1 - 7 / 6 * math.sqrt(2 / 3)) / 2, rel=1e-12)
    assert res.equivalent and not ps.tost_paired([1, 2, 3, 4, 5], margin=5, alpha=0.02).equivalent


@pytest.mark.parametrize("n", [2, 3, 5, 10, 40])
def test_tost_matches_two_one_sided_scipy_ttests(n: int) -> None:
    rng = np.random.default_rng(n)
    for _ in range(5):
        diffs = rng.normal(loc=rng.normal(), scale=rng.uniform(0.1, 3), size=n)
        margin = float(rng.uniform(0.2, 3))
        res = ps.tost_paired(diffs, margin)
        lower = scipy_stats.ttest_1samp(diffs, -margin, alternative="greater")
        upper = scipy_stats.ttest_1samp(diffs, margin, alternative="less")
        assert res.t_lower == pytest.approx(lower.statistic, rel=1e-12)
        assert res.t_upper == pytest.approx(upper.statistic, rel=1e-12)
        assert res.p_lower == pytest.approx(lower.pvalue, rel=1e-10)
        assert res.p_upper == pytest.approx(upper.pvalue, rel=1e-10)
        assert res.p == max(res.p_lower, res.p_upper) and res.equivalent == (res.p < 0.05)


def test_tost_zero_spread_takes_the_limit() -> None:
    inside = ps.tost_paired([0.25, 0.25, 0.25], margin=1)
    assert (inside.sd, inside.t_lower, inside.t_upper, inside.p, inside.equivalent) == (0.0, math.inf, -math.inf,
                                                                                       0.0, True)
    outside = ps.tost_paired([2.0, 2.0], margin=1)
    assert (outside.p_lower, outside.p_upper, outside.equivalent) == (0.0, 1.0, False)
    on_margin = ps.tost_paired([1.0, 1.0, 1.0], margin=1)
    assert (on_margin.t_upper, on_margin.p_upper, on_margin.p) == (0.0, 0.5, 0.5)
    # The limit agrees with a nearly constant sample.
    assert ps.tost_paired([0.25, 0.25 + 1e-9, 0.25], margin=1).p < 1e-12
    json.dumps(inside.to_dict(), allow_nan=False)
    assert inside.to_dict()["t_lower"] is None and inside.to_dict()["p"] == 0.0


@pytest.mark.parametrize(("diffs", "kwargs", "message"), [
    ([0.3], {"margin": 1}, "at least 2 paired differences .seeds.; got 1"),
    ([], {"margin": 1}, "at least 2 paired differences"),
    ([0.1, math.nan], {"margin": 1}, "finite differences"),
    ([0.1, 0.2], {"margin": 0}, "margin must be a positive finite number"),
    ([0.1, 0.2], {"margin": -1}, "margin must be a positive finite number"),
    ([0.1, 0.2], {"margin": math.inf}, "margin must be a positive finite number"),
    ([0.1, 0.2], {"margin": 1, "alpha": 1.0}, r"alpha must be in \(0, 1\)"),
])
def test_tost_rejects_bad_input(diffs: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ps.tost_paired(diffs, **kwargs)


# --- bootstrap ------------------------------------------------------------------------------------


def _direct_bootstrap(diffs: np.ndarray, level: float, resamples: int, seed: int) -> tuple[float, float]:
    """One resample at a time, from the same generator stream: the reference for the vectorised code."""
    rng = np.random.default_rng(seed)
    means = [float(np.mean(diffs[rng.integers(0, len(diffs), size=len(diffs))])) for _ in range(resamples)]
    return float(np.percentile(means, 100 * (1 - level) / 2)), float(np.percentile(means, 100 * (1 + level) / 2))


@pytest.mark.parametrize(("n", "level", "seed"), [(2, 0.95, 0), (5, 0.9, 3), (12, 0.99, 7)])
def test_bootstrap_matches_direct_implementation(n: int, level: float, seed: int) -> None:
    diffs = np.random.default_rng(100 + n).normal(size=n)
    low, high = ps.bootstrap_ci(diffs, level=level, resamples=2000, seed=seed)
    assert (low, high) == pytest.approx(_direct_bootstrap(diffs, level, 2000, seed), rel=1e-12)


def test_bootstrap_properties() -> None:
    rng = np.random.default_rng(0)
    small, large = rng.normal(1.0, 2.0, size=10), rng.normal(1.0, 2.0, size=1000)
    low, high = ps.bootstrap_ci(small)
    assert low < small.mean() < high
    assert ps.bootstrap_ci(small) == (low, high)  # reproducible for a seed
    assert ps.bootstrap_ci(small, seed=1) != (low, high)
    assert ps.bootstrap_ci(small, level=0.5)[1] < high
    big_low, big_high = ps.bootstrap_ci(large)
    assert big_high - big_low < (high - low) / 5  # shrinks like 1/sqrt(n)
    # For large n the percentile interval approaches mean +- z * sd / sqrt(n).
    half = scipy_stats.norm.ppf(0.975) * large.std(ddof=1) / math.sqrt(large.size)
    assert big_low == pytest.approx(large.mean() - half, abs=0.05 * half)
    assert big_high == pytest.approx(large.mean() + half, abs=0.05 * half)
    assert ps.bootstrap_ci([0.5, 0.5, 0.5]) == pytest.approx((0.5, 0.5))


@pytest.mark.parametrize(("diffs", "kwargs", "message"), [
    ([1.0], {}, "bootstrap_ci needs at least 2 paired differences"),
    ([1.0, 2.0], {"level": 1.0}, r"level must be in \(0, 1\)"),
    ([1.0, 2.0], {"resamples": 0}, "resamples must be at least 1"),
])
def test_bootstrap_rejects_bad_input(diffs: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ps.bootstrap_ci(diffs, **kwargs)


# --- Holm -----------------------------------------------------------------------------------------


def test_holm_hand_worked() -> None:
    # Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06.
    assert ps.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # R: p.adjust(c(.01, .02, .03, .04, .05), "holm")
    assert ps.holm([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    assert ps.holm([0.6, 0.9]) == [1.0, 1.0]  # capped at 1
    assert ps.holm([0.02, 0.02, 0.5]) == pytest.approx([0.06, 0.06, 0.5])  # ties get one value
    assert ps.holm([0.3]) == [0.3] and ps.holm([]) == []


def test_holm_is_the_step_down_procedure() -> None:
    """The adjusted p-value is the smallest alpha at which Holm's step-down test rejects that hypothesis."""

    def step_down(p: np.ndarray, alpha: float) -> set[int]:
        rejected: set[int] = set()
        for i, j in enumerate(np.argsort(p)):
            if p[j] > alpha / (len(p) - i):
                break
            rejected.add(int(j))
        return rejected

    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.uniform(0, 0.1, size=int(rng.integers(1, 9))) ** rng.uniform(0.5, 2)
        adjusted = np.array(ps.holm(p))
        assert (adjusted >= p).all() and (adjusted <= np.minimum(1, len(p) * p) + 1e-15).all()
        order = np.argsort(p)
        assert (np.diff(adjusted[order]) >= 0).all()
        for alpha in np.linspace(0.001, 0.3, 60):
            assert {i for i, a in enumerate(adjusted) if a <= alpha} == step_down(p, alpha)


@pytest.mark.parametrize("pvalues", [[0.1, 1.5], [-0.01], [0.2, math.nan]])
def test_holm_rejects_invalid_pvalues(pvalues: list) -> None:
    with pytest.raises(ValueError, match=r"p-values must lie in \[0, 1\]"):
        ps.holm(pvalues)


# --- paired comparison ----------------------------------------------------------------------------


def test_paired_comparison_bundles_the_pieces() -> None:
    native = [101.0, 98.5, 104.0, 99.0, 100.5]
    official = [100.0, 99.0, 102.5, 99.5, 100.0]
    diffs = np.subtract(native, official)
    cmp = ps.paired_comparison(native, official, margin=2.0, seed=3)
    assert cmp.mean_difference == pytest.approx(diffs.mean())
    assert cmp.tost == ps.tost_paired(diffs, 2.0)
    assert (cmp.ci_low, cmp.ci_high) == ps.bootstrap_ci(diffs, seed=3)
    assert ps.paired_comparison(official, native, margin=2.0).mean_difference == pytest.approx(-diffs.mean())
    payload = json.loads(json.dumps(cmp.to_dict(), allow_nan=False))
    assert payload["native"] == native and payload["official"] == official
    assert payload["tost"]["p"] == cmp.tost.p and payload["tost"]["equivalent"] == cmp.tost.equivalent
    assert payload["level"] == 0.95 and payload["ci_low"] < payload["mean_difference"] < payload["ci_high"]


def test_paired_comparison_requires_matching_seeds() -> None:
    with pytest.raises(ValueError, match=r"one value per seed.*got shapes \(3,\) and \(2,\)"):
        ps.paired_comparison([1, 2, 3], [1, 2], margin=1)
    with pytest.raises(ValueError, match="at least 2 paired differences"):
        ps.paired_comparison([1.0], [1.5], margin=1)
