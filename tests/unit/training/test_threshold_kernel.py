"""The compiled threshold search equals the former pure-Python one exactly (reference)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from threshold_reference import reference_choose_threshold, reference_simulate_trades

from cvntrade.training.simulation import (
    ThresholdChoice,
    TradeOutcomes,
    choose_threshold,
    simulate_trades,
)

HOUR = 3_600_000


@st.composite
def fold(draw: st.DrawFn) -> tuple[np.ndarray, TradeOutcomes]:
    """Probabilities with many ties, ascending signal closes, random holds and returns.

    `one_class` folds give every row the same outcome (all winners or all losers), as a fold
    with single-class labels does.
    """
    n = draw(st.integers(0, 400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    levels = draw(st.integers(1, 12))  # few distinct probabilities: ties at every quantile
    probs = np.round(rng.random(n) * levels) / levels
    if draw(st.booleans()):
        probs = probs + rng.random(n) * 1e-3 * draw(st.sampled_from([0.0, 1.0]))
    steps = rng.integers(1, 3, n)  # gaps of 1 or 2 bars between signals
    closes = np.cumsum(steps).astype(np.int64) * HOUR
    held = rng.integers(1, 8, n).astype(np.int64)
    one_class = draw(st.sampled_from([None, -0.5, 1.0]))
    if one_class is None:
        gross = rng.choice([-0.5, 1.0, 0.2, -0.1, 0.0], n).astype(np.float64)
    else:
        gross = np.full(n, one_class)
    cost = draw(st.sampled_from([0.0, 0.12, 0.3]))
    return probs, TradeOutcomes(closes, closes + held * HOUR, gross, cost)


def _same_choice(a: ThresholdChoice, b: ThresholdChoice) -> bool:
    """Field-by-field equality, NaN equal to NaN (no trades)."""
    both_nan = math.isnan(a.net_expectancy_pct) and math.isnan(b.net_expectancy_pct)
    return (
        a.threshold == b.threshold
        and a.rule == b.rule
        and a.n_trades == b.n_trades
        and (both_nan or a.net_expectancy_pct == b.net_expectancy_pct)
    )


@settings(max_examples=300, deadline=None)
@given(fold(), st.sampled_from([0, 1, 5, 30]), st.floats(0.0, 1.0))
def test_compiled_threshold_search_equals_the_python_reference(
    case: tuple[np.ndarray, TradeOutcomes], min_trades: int, break_even: float
) -> None:
    probs, outcomes = case
    got = choose_threshold(probs, outcomes, break_even=break_even, min_trades=min_trades)
    expected = reference_choose_threshold(
        probs, outcomes, break_even=break_even, min_trades=min_trades
    )
    assert _same_choice(got, expected), (got, expected)


@settings(max_examples=200, deadline=None)
@given(fold(), st.floats(0.0, 1.0))
def test_compiled_simulation_equals_the_python_reference(
    case: tuple[np.ndarray, TradeOutcomes], threshold: float
) -> None:
    probs, outcomes = case
    for limit in (threshold, np.full(probs.shape[0], threshold)):  # scalar and per-row
        got = simulate_trades(probs, limit, outcomes)
        expected = reference_simulate_trades(probs, limit, outcomes)
        assert got.rows.tolist() == expected.rows.tolist()
        assert got.net_return_pct.tolist() == expected.net_return_pct.tolist()


def test_a_fold_of_only_winners_and_one_of_only_losers_choose_as_before() -> None:
    rng = np.random.default_rng(3)
    closes = np.arange(1, 2001, dtype=np.int64) * HOUR
    probs = rng.random(2000)
    for gross, expected_rule in ((1.0, "quantile:"), (-0.5, "break_even")):
        outcomes = TradeOutcomes(closes, closes + 3 * HOUR, np.full(2000, gross), 0.12)
        got = choose_threshold(probs, outcomes, break_even=0.41)
        assert got.rule.startswith(expected_rule)
        ref = reference_choose_threshold(probs, outcomes, break_even=0.41)
        assert _same_choice(got, ref)
