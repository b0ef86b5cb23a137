"""One compared quantity per row: what the official code computed, what the native model computed, how far apart."""

from __future__ import annotations

from typing import Any, Sequence

import attrs

DEFAULT_RTOL = 1e-5


@attrs.frozen(kw_only=True)
class ParityRow:
    """A quantity compared between official and native code.

    ``official`` and ``native`` summarise the values (the value itself for a
    scalar, the largest magnitude for an array); ``error`` is the largest
    absolute difference relative to the largest official magnitude, and the
    row passes when ``error <= tolerance``.
    """

    quantity: str
    official: float
    native: float
    error: float
    tolerance: float
    shape: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error <= self.tolerance

    def to_dict(self) -> dict[str, Any]:
        return {"quantity": self.quantity, "official": self.official, "native": self.native, "error": self.error,
                "tolerance": self.tolerance, "shape": list(self.shape), "ok": self.ok}


def compare_arrays(quantity: str, official: Any, native: Any, tolerance: float = DEFAULT_RTOL,
                   floor: float = 1e-6) -> ParityRow:
    """Compare two array-likes (numpy or torch) of the same shape.

    The error is ``max|official - native| / max(max|official|, floor)``; ``floor``
    keeps quantities that are exactly zero (zero-initialised heads) from
    dividing by zero. A shape mismatch is an infinite error.
    """
    import numpy as np

    a = np.asarray(_numpy(official), dtype=np.float64)
    b = np.asarray(_numpy(native), dtype=np.float64)
    summary_a = float(a.reshape(-1)[0]) if a.size == 1 else float(np.abs(a).max(initial=0.0))
    summary_b = float(b.reshape(-1)[0]) if b.size == 1 else float(np.abs(b).max(initial=0.0))
    if a.shape != b.shape:
        return ParityRow(quantity=quantity, official=summary_a, native=summary_b, error=float("inf"),
                         tolerance=tolerance, shape=tuple(a.shape))
    scale = max(float(np.abs(a).max(initial=0.0)), floor)
    diff = np.abs(a - b)
    error = float("inf") if not np.isfinite(diff).all() else float(diff.max(initial=0.0)) / scale
    return ParityRow(quantity=quantity, official=summary_a, native=summary_b, error=error, tolerance=tolerance,
                     shape=tuple(a.shape))


def _numpy(value: Any) -> Any:
    detach = getattr(value, "detach", None)
    if detach is not None:
        return detach().cpu().double().numpy()
    return value


def format_rows(rows: Sequence[ParityRow]) -> list[tuple[str, str, str, str, str, str]]:
    """Rows as printable cells: quantity, official, native, error, tolerance, verdict."""
    return [(r.quantity, f"{r.official:.6g}", f"{r.native:.6g}", f"{r.error:.2e}", f"{r.tolerance:.0e}",
             "ok" if r.ok else "FAIL") for r in rows]
