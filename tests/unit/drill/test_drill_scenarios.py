"""Drill scenarios keep their promises for any seed and any `now`."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from statistics import fmean

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvntrade.drill import SCENARIOS, generate_drill_trades
from cvntrade.errors import UserInputError
from cvntrade.strategy import DEFAULT_SYMBOLS

NOW = dt.datetime(2026, 11, 24, 12, 34, 56)


def _windows(trades: list, now: dt.datetime) -> tuple[dict[str, float], dict[str, float]]:
    recent: dict[str, list[float]] = defaultdict(list)
    baseline: dict[str, list[float]] = defaultdict(list)
    for t in trades:
        if t.model_loss_function != "focal":
            continue
        if t.entry_time >= now - dt.timedelta(hours=48):
            recent[t.crypto_symbol].append(t.realized_pnl_pct)
        elif t.entry_time >= now - dt.timedelta(days=14):
            baseline[t.crypto_symbol].append(t.realized_pnl_pct)
    return {s: fmean(v) for s, v in recent.items()}, {s: fmean(v) for s, v in baseline.items()}


@settings(max_examples=60, deadline=None)
@given(
    scenario=st.sampled_from(sorted(SCENARIOS)),
    seed=st.integers(0, 10_000),
    now=st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2030, 1, 1)),
)
def test_scenario_makes_exactly_its_symbols_negative_with_healthy_baseline(
    scenario: str, seed: int, now: dt.datetime
) -> None:
    trades = generate_drill_trades(scenario, now=now, seed=seed)
    recent, baseline = _windows(trades, now)
    assert set(recent) == set(DEFAULT_SYMBOLS)
    negative = {s for s, e in recent.items() if e < 0}
    assert negative == set(SCENARIOS[scenario])
    assert all(b > 0 for b in baseline.values())
    shifted = {s for s in recent if recent[s] < baseline[s] - 0.01}
    assert shifted == set(SCENARIOS[scenario])


def test_history_is_realistic_and_consistent() -> None:
    trades = generate_drill_trades("focal-regression", now=NOW, seed=1)
    assert min(t.entry_time for t in trades) <= NOW - dt.timedelta(days=14)
    assert {t.model_loss_function for t in trades} == {"binary", "focal"}
    boundaries = [
        NOW - dt.timedelta(hours=48),
        NOW - dt.timedelta(days=7),
        NOW - dt.timedelta(days=14),
    ]
    for t in trades:
        assert t.entry_time <= t.exit_time <= NOW
        assert t.exit_time - t.entry_time <= dt.timedelta(hours=4)
        assert all(abs(t.entry_time - b) > dt.timedelta(minutes=10) for b in boundaries)
        gross = (t.exit_price / t.entry_price - 1) * 100
        assert gross - t.fees_pct == pytest.approx(t.realized_pnl_pct, abs=1e-3)
        focal = t.entry_time >= NOW - dt.timedelta(days=14)
        assert (t.model_loss_function == "focal") == focal
    by_symbol = defaultdict(list)
    for t in trades:
        by_symbol[t.crypto_symbol].append(t)
    for symbol_trades in by_symbol.values():
        symbol_trades.sort(key=lambda t: t.entry_time)
        for earlier, later in itertools.pairwise(symbol_trades):
            assert earlier.exit_time <= later.entry_time  # one open position per symbol
        versions = {t.model_loss_function: t.model_version for t in symbol_trades}
        assert versions["binary"] == versions["focal"] - 1


def test_same_seed_and_now_give_the_same_history() -> None:
    first = generate_drill_trades("healthy", now=NOW, seed=3)
    assert first == generate_drill_trades("healthy", now=NOW, seed=3)
    assert first != generate_drill_trades("healthy", now=NOW, seed=4)


def test_unknown_scenario_is_rejected() -> None:
    with pytest.raises(UserInputError, match="unknown scenario 'panic'"):
        generate_drill_trades("panic", now=NOW)
