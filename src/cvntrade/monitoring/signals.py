"""The diagnosis signals as pure functions of arrays: expectancy intervals, PSI, bins.

* **Expectancy** of a window is the mean `realized_pnl_pct` (percent, net) with its trade count
  and a 95 % Student t interval `mean ± t(0.975, n-1) · s / sqrt(n)` (s: sample standard
  deviation), so a reader sees when 3 trades decide a page. It is computed from the count, sum
  and sum of squares, which the database aggregates without shipping rows.
* **PSI** (population stability index) of a feature compares the recent distribution with the
  training one over the training window's quantile bins: `PSI = Σ (q - p) · ln(q / p)` with `p`
  the training and `q` the recent proportion of each bin. An empty bin would make the log
  infinite, so both proportions are floored at `PSI_EPSILON = 1e-4` (documented in
  docs/monitoring.md). Levels: `< 0.1` stable, `0.1 - 0.25` moderate shift, `>= 0.25`
  significant shift (`PsiThresholds`, configurable).
* **Bins**: quantile bin edges are the `1/k … (k-1)/k` quantiles of the training values (NumPy's
  linear interpolation; duplicates dropped), and a value belongs to the bin of the number of
  edges `<= value` — the same convention as the equal-mass ECE of `training.metrics`.

Sharpness and ECE have ONE definition each: `cvntrade.training.metrics.sharpness` and
`cvntrade.training.metrics.ece_equal_mass`, re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cvntrade.training.metrics import ECE_BINS, ece_equal_mass, sharpness

PSI_EPSILON = 1e-4
PSI_BINS = 10
PROBABILITY_BINS = 20
CONFIDENCE = 0.95
FloatArray = npt.NDArray[np.float64]

__all__ = [
    "ECE_BINS",
    "PSI_BINS",
    "PSI_EPSILON",
    "ExpectancyStats",
    "PsiThresholds",
    "bin_proportions",
    "ece_equal_mass",
    "expectancy_from_moments",
    "probability_histogram",
    "psi",
    "quantile_edges",
    "sharpness",
]


@dataclass(frozen=True, slots=True)
class ExpectancyStats:
    """Mean net PnL (percent) of a window, its trade count and 95 % t interval (NaN if n < 2)."""

    mean: float
    n_trades: int
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class PsiThresholds:
    """PSI levels: below `moderate` stable, from `significant` on a significant shift."""

    moderate: float = 0.1
    significant: float = 0.25

    def level(self, value: float) -> str:
        """`stable`, `moderate`, `significant`, or `unknown` for NaN."""
        if math.isnan(value):
            return "unknown"
        if value >= self.significant:
            return "significant"
        return "moderate" if value >= self.moderate else "stable"


def expectancy_from_moments(n: int, total: float, total_sq: float) -> ExpectancyStats:
    """Mean and 95 % t interval from the count, sum and sum of squares of `realized_pnl_pct`."""
    from scipy.stats import t as student_t

    nan = float("nan")
    if n == 0:
        return ExpectancyStats(nan, 0, nan, nan)
    mean = total / n
    if n == 1:
        return ExpectancyStats(mean, 1, nan, nan)
    variance = max((total_sq - n * mean * mean) / (n - 1), 0.0)
    half = float(student_t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * math.sqrt(variance / n)
    return ExpectancyStats(mean, n, mean - half, mean + half)


def quantile_edges(values: npt.ArrayLike, bins: int = PSI_BINS) -> FloatArray:
    """Inner bin edges: the distinct `1/bins … (bins-1)/bins` quantiles of the finite values."""
    if bins < 2:
        raise ValueError(f"bins must be >= 2 (got {bins})")
    x = _finite(values)
    if x.size == 0:
        return np.empty(0, dtype=np.float64)
    return np.unique(np.quantile(x, np.arange(1, bins) / bins))


def bin_proportions(values: npt.ArrayLike, edges: npt.ArrayLike) -> FloatArray:
    """Share of the finite values in each of the `len(edges) + 1` bins (all NaN if none)."""
    inner = np.asarray(edges, dtype=np.float64)
    x = _finite(values)
    if x.size == 0:
        return np.full(inner.size + 1, np.nan)
    counts = np.bincount(np.searchsorted(inner, x, side="right"), minlength=inner.size + 1)
    return counts / x.size


def psi(reference: npt.ArrayLike, recent: npt.ArrayLike, epsilon: float = PSI_EPSILON) -> float:
    """PSI between two bin-proportion vectors, each floored at `epsilon`; NaN if either is NaN."""
    p = np.asarray(reference, dtype=np.float64)
    q = np.asarray(recent, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"{p.size} reference bins for {q.size} recent bins")
    if p.size == 0 or np.isnan(p).any() or np.isnan(q).any():
        return float("nan")
    p, q = np.maximum(p, epsilon), np.maximum(q, epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def probability_histogram(probs: npt.ArrayLike, bins: int = PROBABILITY_BINS) -> FloatArray:
    """Share of probabilities in `bins` equal-width bins of [0, 1] (for the dashboards/plots)."""
    edges = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    return bin_proportions(probs, edges)


def _finite(values: npt.ArrayLike) -> FloatArray:
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    return x[np.isfinite(x)]
