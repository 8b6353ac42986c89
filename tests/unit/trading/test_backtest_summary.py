"""Backtest summary figures and the in-sample warning (pure functions)."""

from __future__ import annotations

import datetime as dt

import pytest

from cvntrade.trading.backtest import overlap_warnings, summarise


def test_summary_of_a_worked_example() -> None:
    # equity: 1, -1, -0.5, -1.5, 1.5 -> peak 1, deepest -1.5: drawdown 2.5
    summary = summarise([1.0, -2.0, 0.5, -1.0, 3.0])
    assert (summary.trades, summary.wins) == (5, 3)
    assert summary.win_rate == pytest.approx(0.6)
    assert summary.net_expectancy_pct == pytest.approx(0.3)
    assert summary.cumulative_pnl_pct == pytest.approx(1.5)
    assert summary.max_drawdown_pct == pytest.approx(2.5)


def test_drawdown_counts_from_zero_and_a_break_even_trade_is_no_win() -> None:
    summary = summarise([-1.0, -0.5, 0.0])
    assert summary.max_drawdown_pct == pytest.approx(1.5)
    assert summary.wins == 0 and summary.win_rate == 0.0


def test_no_trades_has_no_rates() -> None:
    summary = summarise([])
    assert (summary.trades, summary.win_rate, summary.net_expectancy_pct) == (0, None, None)
    assert summary.cumulative_pnl_pct == summary.max_drawdown_pct == 0.0


@pytest.mark.parametrize(
    ("window", "warned"),
    [
        ((dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1)), True),  # ends inside
        ((dt.datetime(2025, 1, 1), dt.datetime(2025, 1, 14, 23)), False),  # ends before
        ((dt.datetime(2025, 2, 15), dt.datetime(2025, 3, 1)), False),  # starts at the end
        ((dt.datetime(2025, 1, 20), dt.datetime(2025, 1, 25)), True),  # inside
        (None, False),  # unknown window
    ],
)
def test_overlap_with_the_training_window(
    window: tuple[dt.datetime, dt.datetime] | None, warned: bool
) -> None:
    start, end = dt.datetime(2025, 1, 15), dt.datetime(2025, 2, 15)
    warnings = overlap_warnings({("BTCUSDC", 3): window}, start, end)
    assert len(warnings) == int(warned)
    if warned:
        assert warnings[0].startswith("BTCUSDC version 3 was trained on")
        assert "in-sample" in warnings[0]
