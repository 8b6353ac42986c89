"""Signals against independent reference computations (pandas, scipy, plain Python), 1e-9."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cvntrade.monitoring.drift import known_outcomes
from cvntrade.monitoring.signals import (
    PsiThresholds,
    bin_proportions,
    expectancy_from_moments,
    probability_histogram,
    psi,
    quantile_edges,
)

TOL = 1e-9


@pytest.mark.parametrize("n", [2, 3, 17, 500])
def test_expectancy_interval_matches_scipy_t_interval(n: int) -> None:
    x = np.random.default_rng(n).normal(0.05, 0.8, n)
    got = expectancy_from_moments(n, float(x.sum()), float((x * x).sum()))
    s = pd.Series(x)
    low, high = stats.t.interval(0.95, n - 1, loc=s.mean(), scale=s.sem())
    assert got.n_trades == n
    assert got.mean == pytest.approx(s.mean(), abs=TOL)
    assert (got.ci_low, got.ci_high) == (pytest.approx(low, abs=TOL), pytest.approx(high, abs=TOL))


def test_expectancy_of_zero_and_one_trade() -> None:
    empty = expectancy_from_moments(0, 0.0, 0.0)
    assert empty.n_trades == 0 and math.isnan(empty.mean)
    one = expectancy_from_moments(1, -0.6, 0.36)
    assert one.mean == -0.6 and math.isnan(one.ci_low) and math.isnan(one.ci_high)


def _slow_psi(train: list[float], recent: list[float], bins: int, eps: float) -> float:
    """Plain-Python PSI: pandas quantiles for edges, explicit loops for bins and sum."""
    qs = pd.Series(train).quantile([k / bins for k in range(1, bins)]).tolist()
    edges = sorted(set(qs))

    def shares(values: list[float]) -> list[float]:
        counts = [0] * (len(edges) + 1)
        for v in values:
            counts[sum(1 for e in edges if e <= v)] += 1
        return [c / len(values) for c in counts]

    total = 0.0
    for p, q in zip(shares(train), shares(recent), strict=True):
        p, q = max(p, eps), max(q, eps)
        total += (q - p) * math.log(q / p)
    return total


@pytest.mark.parametrize("shift", [0.0, 0.3, 2.0])
def test_psi_matches_a_slow_reference(shift: float) -> None:
    rng = np.random.default_rng(3)
    train, recent = rng.normal(0, 1, 2000), rng.normal(shift, 1.2, 700)
    edges = quantile_edges(train, 10)
    got = psi(bin_proportions(train, edges), bin_proportions(recent, edges), 1e-4)
    assert got == pytest.approx(_slow_psi(list(train), list(recent), 10, 1e-4), abs=TOL)


def test_psi_empty_bins_use_epsilon_and_thresholds_classify() -> None:
    train = np.arange(100, dtype=float)
    edges = quantile_edges(train, 4)
    recent = np.full(50, 1000.0)  # every recent value in the top bin
    value = psi(bin_proportions(train, edges), bin_proportions(recent, edges), 1e-4)
    assert math.isfinite(value) and value > 0.25
    assert value == pytest.approx(_slow_psi(list(train), list(recent), 4, 1e-4), abs=TOL)
    assert psi(bin_proportions(train, edges), bin_proportions(train, edges)) == 0.0
    levels = PsiThresholds()
    assert [levels.level(v) for v in (0.05, 0.1, 0.2, 0.25, math.nan)] == [
        "stable",
        "moderate",
        "moderate",
        "significant",
        "unknown",
    ]
    assert PsiThresholds(0.2, 0.5).level(0.3) == "moderate"
    assert math.isnan(psi(bin_proportions(train, edges), bin_proportions([], edges)))


def test_constant_feature_has_one_edge_and_nan_values_are_ignored() -> None:
    edges = quantile_edges([1.0] * 10 + [math.nan], 10)
    assert edges.tolist() == [1.0]
    assert bin_proportions([0.0, 1.0, 2.0, math.nan], edges).tolist() == [1 / 3, 2 / 3]


def test_probability_histogram_matches_numpy_histogram_on_inner_values() -> None:
    p = np.random.default_rng(1).uniform(0.01, 0.99, 999)
    p = p[np.abs(p * 20 - np.round(p * 20)) > 1e-9]  # no value on an edge
    counts, _ = np.histogram(p, bins=20, range=(0, 1))
    np.testing.assert_allclose(probability_histogram(p), counts / p.size, atol=TOL)


def test_known_outcomes_joins_predictions_to_labelled_bars() -> None:
    bars = np.array([0, 10, 20, 30, 40])
    labels = np.array([1, 0, 1, -1, -1])
    probs, y = known_outcomes([10, 20, 30, 35, 50], [0.1, 0.2, 0.3, 0.4, 0.5], bars, labels)
    assert probs.tolist() == [0.1, 0.2] and y.tolist() == [0.0, 1.0]
