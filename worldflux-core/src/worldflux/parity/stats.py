"""Statistics of learning-curve parity: summaries of one curve, and paired tests over seeds.

``worldflux parity report`` trains the native and the official implementation on the same tasks
and seeds. Per task, each seed gives one number per side (the final return, or the curve's average
height), and the paired difference native - official over seeds is what gets tested. The claim we
want to support is *equivalence*, so the test is TOST (two one-sided paired t-tests against a stated
margin), reported next to a percentile-bootstrap interval that shows the size of the difference
without assuming normality. Holm's step-down adjustment keeps the family-wise error over tasks at
alpha without assuming the tasks are independent.

Only numpy and math are used: scipy is not a runtime dependency, so Student's t comes from our own
regularized incomplete beta function (the tests check it against scipy).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import attrs
import numpy as np
from numpy.typing import ArrayLike

# --- one learning curve ------------------------------------------------------------------------


def _curve(steps: ArrayLike, values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated float arrays: a silently misaligned or unsorted curve would give a wrong area."""
    s = np.asarray(steps, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if s.ndim != 1 or v.ndim != 1 or s.shape != v.shape:
        raise ValueError(f"steps and values must be 1-D and of the same length; got shapes {s.shape} and {v.shape}")
    if s.size == 0:
        raise ValueError("a learning curve needs at least one evaluation; got none")
    if not (np.isfinite(s).all() and np.isfinite(v).all()):
        raise ValueError("steps and values must be finite (a NaN return usually means a failed evaluation)")
    increasing = np.diff(s) > 0
    if not increasing.all():
        i = int(np.argmin(increasing))
        raise ValueError(f"steps must be strictly increasing; steps[{i}]={s[i]:g} is followed by "
                         f"steps[{i + 1}]={s[i + 1]:g}")
    return s, v


def final_return(steps: ArrayLike, values: ArrayLike, last: int = 1) -> float:
    """Mean of the last ``last`` evaluations: averaging a few damps the noise of a single evaluation."""
    _, v = _curve(steps, values)
    if not 1 <= last <= v.size:
        raise ValueError(f"last must be between 1 and the number of evaluations ({v.size}); got {last}")
    return float(v[-last:].mean())


def normalized_auc(steps: ArrayLike, values: ArrayLike) -> float:
    """Trapezoidal area under the curve divided by its step span, i.e. the curve's average height.

    Dividing by the span keeps the number in return units, so it reads like a return and does not
    grow with the training length. A single evaluation has no span; its value is the average height.
    Both sides of a comparison should be evaluated over the same span.
    """
    s, v = _curve(steps, values)
    if s.size == 1:
        return float(v[0])
    area = float(np.sum(np.diff(s) * (v[1:] + v[:-1]))) / 2.0
    return area / float(s[-1] - s[0])


# --- Student's t, from the regularized incomplete beta function ----------------------------------
#
# For t > 0, P(T > t) = I_x(df/2, 1/2) / 2 with x = df / (df + t^2). I_x is evaluated by the
# continued fraction of Numerical Recipes (modified Lentz) except for large df near the centre,
# where that fraction needs O(sqrt(df)) terms; there the asymptotic expansion of DiDonato & Morris
# (1992, BGRAT) converges in a few terms, and for b = 1/2 its incomplete gammas reduce to erfc.
# Logs of x and 1 - x are formed without computing t^2, so huge |t| neither overflows nor loses the tail.

_CF_TOL = 1e-15
_CF_MAX_ITER = 10_000
_LARGE_A = 15.0  # BGRAT's condition a >= 15 (DiDonato & Morris)


def _log_gamma_ratio_half(a: float) -> float:
    """ln Gamma(a + 1/2) - ln Gamma(a); by Stirling for large a, where lgamma's difference loses digits."""
    if a < _LARGE_A:
        return math.lgamma(a + 0.5) - math.lgamma(a)

    def stirling(z: float) -> float:  # ln Gamma(z) - [(z - 1/2) ln z - z + ln(2 pi)/2]
        w = 1.0 / (z * z)
        return (1 / 12 - w * (1 / 360 - w * (1 / 1260 - w * (1 / 1680 - w * (1 / 1188 - w * (691 / 360360
                - w / 156)))))) / z

    return (a - 0.5) * math.log1p(0.5 / a) + 0.5 * math.log(a + 0.5) - 0.5 + stirling(a + 0.5) - stirling(a)


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction for I_x(a, b) (Numerical Recipes betacf); fast for x < (a+1)/(a+b+2)."""
    tiny = 1e-300
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    c, h = 1.0, d
    for m in range(1, _CF_MAX_ITER):
        for coeff in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                      -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + coeff * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + coeff / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < _CF_TOL:
            return h
    raise RuntimeError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def _bgrat_coefficients(count: int = 30) -> list[float]:
    """Coefficients of (sinh(s/2) / (s/2))^(-1/2) in powers of s^2 (J.C.P. Miller's power recurrence)."""
    f = [1.0 / (4.0**k * math.factorial(2 * k + 1)) for k in range(count)]
    p = [1.0]
    for n in range(1, count):
        p.append(sum((0.5 * k - n) * f[k] * p[n - k] for k in range(1, n + 1)) / n)
    return p


_BGRAT_P = _bgrat_coefficients()


def _ibeta_half_large_a(a: float, u0: float) -> float:
    """I_x(a, 1/2) for a >= 15 and u0 = -ln x <= 1, by BGRAT.

    With T = a - 1/4 and u = T u0: I = Gamma(a+1/2) / (Gamma(a) sqrt(pi T)) * sum_n p_n G_n, where
    G_n = Gamma(1/2 + 2n, u) / T^(2n); G_0 = sqrt(pi) erfc(sqrt(u)) and the upper incomplete gamma
    recurrence Gamma(s+1, u) = s Gamma(s, u) + u^s e^-u (all terms positive, so stable) gives the rest.
    """
    big_t = a - 0.25
    u = big_t * u0
    g = math.sqrt(math.pi) * math.erfc(math.sqrt(u))
    total, s = g, 0.5
    for n in range(1, len(_BGRAT_P)):
        # two recurrence steps, with the scale T^(2n) folded into the exponent to avoid overflow
        extra = 0.0 if u == 0 else (s + 1 + u) * math.exp(s * math.log(u) - u - 2 * (n - 1) * math.log(big_t))
        g = (s * (s + 1) * g + extra) / (big_t * big_t)
        s += 2
        term = _BGRAT_P[n] * g
        total += term
        if abs(term) <= 1e-17 * abs(total):
            break
    return math.exp(_log_gamma_ratio_half(a)) / math.sqrt(math.pi * big_t) * total


def _upper_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0."""
    if t == 0:
        return 0.5
    if math.isinf(t):
        return 0.0
    if math.isinf(df):
        return 0.5 * math.erfc(t / math.sqrt(2.0))
    root = math.sqrt(df)
    if t <= root:  # q = t / sqrt(df) <= 1: x = 1 / (1 + q^2)
        q = t / root
        if q == 0:
            return 0.5
        log_x = -math.log1p(q * q)
        log_y = 2 * math.log(q) + log_x
        x, y = 1.0 / (1.0 + q * q), q * q / (1.0 + q * q)
    else:  # r = sqrt(df) / t < 1: x = r^2 / (1 + r^2)
        r = root / t
        if r == 0:
            return 0.0
        log_y = -math.log1p(r * r)
        log_x = 2 * math.log(r) + log_y
        x, y = r * r / (1.0 + r * r), 1.0 / (1.0 + r * r)
    a = df / 2
    if a >= _LARGE_A and -log_x <= 1.0:
        return 0.5 * _ibeta_half_large_a(a, -log_x)
    front = math.exp(a * log_x + 0.5 * log_y - 0.5 * math.log(math.pi) + _log_gamma_ratio_half(a))
    if x < (a + 1) / (a + 2.5):
        return 0.5 * front * _beta_cf(a, 0.5, x) / a
    return 0.5 * (1.0 - 2.0 * front * _beta_cf(0.5, a, y))


def student_t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` > 0 degrees of freedom (``df`` may be inf: the normal).

    Accurate to about 1e-13 relative in the tails; ``t`` may be +-inf.
    """
    t, df = float(t), float(df)
    if math.isnan(t) or not df > 0:
        raise ValueError(f"student_t_sf needs a non-NaN t and df > 0; got t={t}, df={df}")
    return 1.0 - _upper_tail(-t, df) if t < 0 else _upper_tail(t, df)


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t; by symmetry, the survival function at -t (no 1 - tiny cancellation)."""
    return student_t_sf(-float(t), df)


# --- paired tests over seeds -----------------------------------------------------------------------


def _sample(diffs: ArrayLike, what: str) -> np.ndarray:
    x = np.asarray(diffs, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{what} needs a 1-D sequence of paired differences; got shape {x.shape}")
    if x.size < 2:
        raise ValueError(f"{what} needs at least 2 paired differences (seeds); got {x.size}")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} needs finite differences; got {x.tolist()}")
    return x


def bootstrap_ci(diffs: ArrayLike, level: float = 0.95, resamples: int = 10_000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean difference.

    Resample indices are ``numpy.random.default_rng(seed).integers(0, n, size=(resamples, n))``, so
    the interval is reproducible for a seed; the bounds are the (1 -+ level)/2 quantiles of the
    resampled means (numpy's default linear interpolation). Fewer than 2 differences give no spread
    to resample, so they are refused rather than reported as a zero-width interval.
    """
    x = _sample(diffs, "bootstrap_ci")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1; got {resamples}")
    idx = np.random.default_rng(seed).integers(0, x.size, size=(resamples, x.size))
    low, high = np.quantile(x[idx].mean(axis=1), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


@attrs.frozen(kw_only=True)
class TostResult:
    """Two one-sided paired t-tests of H0: mean <= -margin, and H0: mean >= margin.

    ``p`` is the larger one-sided p-value; the mean difference is declared within the margin
    (``equivalent``) when ``p < alpha``, i.e. when both nulls are rejected.
    """

    mean: float
    sd: float
    n: int
    df: int
    margin: float
    alpha: float
    t_lower: float
    t_upper: float
    p_lower: float
    p_upper: float
    p: float
    equivalent: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; an infinite t (zero spread) becomes null, the p-values carry the verdict."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in attrs.asdict(self).items()}


def _t_stat(numerator: float, se: float) -> float:
    # Zero spread: the limit of numerator / se as se -> 0+ (the mean held fixed).
    if se > 0:
        return numerator / se
    return math.copysign(math.inf, numerator) if numerator != 0 else 0.0


def tost_paired(diffs: ArrayLike, margin: float, alpha: float = 0.05) -> TostResult:
    """TOST equivalence test of the mean paired difference against (-margin, margin).

    t_lower = (mean + margin) / se is tested upper-tailed, t_upper = (mean - margin) / se lower-tailed,
    with se = sd / sqrt(n) and df = n - 1. At least 2 differences are needed (no sd otherwise).
    Zero spread (all differences equal) is taken as the limit se -> 0 with the mean fixed: each t is
    +-inf by the sign of its numerator, so each one-sided p is 0 or 1; a mean exactly on a margin
    gives t = 0 (p = 0.5). No division by zero happens.
    """
    x = _sample(diffs, "tost_paired")
    margin, alpha = float(margin), float(alpha)
    if not (math.isfinite(margin) and margin > 0):
        raise ValueError(f"margin must be a positive finite number; got {margin}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}")
    n = int(x.size)
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    se = sd / math.sqrt(n)
    t_lower, t_upper = _t_stat(mean + margin, se), _t_stat(mean - margin, se)
    p_lower, p_upper = student_t_sf(t_lower, n - 1), student_t_cdf(t_upper, n - 1)
    p = max(p_lower, p_upper)
    return TostResult(mean=mean, sd=sd, n=n, df=n - 1, margin=margin, alpha=alpha, t_lower=t_lower,
                      t_upper=t_upper, p_lower=p_lower, p_upper=p_upper, p=p, equivalent=p < alpha)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (statsmodels' ``multipletests(method="holm")``).

    Sorted ascending, the i-th smallest (0-based) is multiplied by m - i, a running maximum makes the
    adjusted values monotone in the raw ones, and they are capped at 1. Rejecting adjusted p < alpha
    controls the family-wise error over tasks under any dependence between them.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"holm needs a 1-D sequence of p-values; got shape {p.shape}")
    if not ((p >= 0) & (p <= 1)).all():
        raise ValueError(f"p-values must lie in [0, 1]; got {p.tolist()}")
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(p[order] * np.arange(m, 0, -1)))
    return adjusted.tolist()


@attrs.frozen(kw_only=True)
class PairedComparison:
    """One metric (final return or normalized AUC) of native vs official, paired by seed."""

    native: tuple[float, ...]
    official: tuple[float, ...]
    mean_difference: float
    level: float
    ci_low: float
    ci_high: float
    tost: TostResult

    def to_dict(self) -> dict[str, Any]:
        return {"native": list(self.native), "official": list(self.official),
                "mean_difference": self.mean_difference, "level": self.level, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "tost": self.tost.to_dict()}


def paired_comparison(native: ArrayLike, official: ArrayLike, margin: float, alpha: float = 0.05,
                      level: float = 0.95, seed: int = 0) -> PairedComparison:
    """Differences native - official per seed (element i of each is the same seed), their mean,
    bootstrap interval and TOST result."""
    a = np.asarray(native, dtype=np.float64)
    b = np.asarray(official, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"native and official need one value per seed, the same seeds in the same order; "
                         f"got shapes {a.shape} and {b.shape}")
    diffs = a - b
    tost = tost_paired(diffs, margin, alpha)
    low, high = bootstrap_ci(diffs, level=level, seed=seed)
    return PairedComparison(native=tuple(a.tolist()), official=tuple(b.tolist()), mean_difference=tost.mean,
                            level=level, ci_low=low, ci_high=high, tost=tost)
