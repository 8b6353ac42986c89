"""Hold-out trading: one position at a time, net of costs, and the threshold rule."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvntrade.strategy import Strategy
from cvntrade.training.simulation import (
    TradeOutcomes,
    break_even_probability,
    choose_threshold,
    simulate_trades,
)

HOUR = 3_600_000


def reference_trades(
    probs: list[float], threshold: float, outcomes: TradeOutcomes
) -> tuple[list[int], list[float]]:
    """Slow reference: walk bar by bar, holding at most one position."""
    taken, returns = [], []
    busy_until = -1
    for i, p in enumerate(probs):
        if outcomes.signal_close_ms[i] < busy_until or p < threshold:
            continue
        taken.append(i)
        returns.append(float(outcomes.gross_return_pct[i]) - outcomes.cost_pct)
        busy_until = int(outcomes.exit_ms[i])
    return taken, returns


@st.composite
def market(draw: st.DrawFn) -> tuple[list[float], TradeOutcomes]:
    n = draw(st.integers(0, 80))
    probs = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    closes = np.arange(1, n + 1, dtype=np.int64) * HOUR
    held = np.array(draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), dtype=np.int64)
    gross = np.array(
        draw(st.lists(st.sampled_from([-0.5, 1.0, 0.2, -0.1]), min_size=n, max_size=n))
    )
    return probs, TradeOutcomes(closes, closes + held * HOUR, gross.astype(float), 0.12)


@settings(max_examples=200, deadline=None)
@given(market(), st.floats(0, 1))
def test_simulation_matches_bar_by_bar_reference(
    case: tuple[list[float], TradeOutcomes], threshold: float
) -> None:
    probs, outcomes = case
    trades = simulate_trades(probs, threshold, outcomes)
    rows, returns = reference_trades(probs, threshold, outcomes)
    assert trades.rows.tolist() == rows
    np.testing.assert_allclose(trades.net_return_pct, returns, rtol=0, atol=1e-12)
    for before, after in itertools.pairwise(rows):
        assert outcomes.signal_close_ms[after] >= outcomes.exit_ms[before], "one position"


def test_expectancy_is_mean_net_return_and_nan_without_trades() -> None:
    closes = np.array([1, 2, 3], dtype=np.int64) * HOUR
    outcomes = TradeOutcomes(closes, closes + HOUR, np.array([1.0, -0.5, 1.0]), 0.12)
    trades = simulate_trades([0.9, 0.9, 0.9], 0.5, outcomes)
    assert trades.n_trades == 3
    assert trades.net_expectancy_pct == pytest.approx((1.0 - 0.5 + 1.0) / 3 - 0.12)
    assert np.isnan(simulate_trades([0.1, 0.1, 0.1], 0.5, outcomes).net_expectancy_pct)


def test_break_even_win_rate_of_the_default_strategy() -> None:
    assert break_even_probability(Strategy.parse("SL0.5_TP1_H4"), 0.12) == pytest.approx(0.62 / 1.5)


def _outcomes_for(winners: np.ndarray) -> TradeOutcomes:
    n = winners.size
    closes = np.arange(1, n + 1, dtype=np.int64) * HOUR
    gross = np.where(winners, 1.0, -0.5)
    return TradeOutcomes(closes, closes + HOUR, gross.astype(float), 0.12)


def test_threshold_picks_the_most_profitable_quantile_with_enough_trades() -> None:
    rng = np.random.default_rng(1)
    probs = rng.random(1000)
    winners = probs > 0.8  # every trade above 0.8 wins, everything below loses
    choice = choose_threshold(probs, _outcomes_for(winners), break_even=0.41, min_trades=30)
    assert choice.rule.startswith("quantile:")
    assert 0.79 <= choice.threshold <= 0.81
    assert choice.net_expectancy_pct == pytest.approx(1.0 - 0.12, abs=0.02)
    assert choice.n_trades >= 30


def test_threshold_respects_the_minimum_number_of_trades() -> None:
    rng = np.random.default_rng(2)
    probs = rng.random(1000)
    winners = probs > 0.99  # only ~10 winners: no quantile with >= 100 trades is profitable
    choice = choose_threshold(probs, _outcomes_for(winners), break_even=0.41, min_trades=100)
    assert choice.rule == "break_even"
    assert choice.threshold == 0.41


def test_threshold_falls_back_to_break_even_without_history_or_edge() -> None:
    empty = TradeOutcomes(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64), 0.12
    )
    assert choose_threshold([], empty, break_even=0.4133).rule == "break_even"
    rng = np.random.default_rng(3)
    probs = rng.random(500)
    losers = _outcomes_for(np.zeros(500, dtype=bool))
    choice = choose_threshold(probs, losers, break_even=0.4133)
    assert (choice.threshold, choice.rule) == (0.4133, "break_even")
