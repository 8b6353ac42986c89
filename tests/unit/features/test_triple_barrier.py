"""The numba triple-barrier labeller agrees with the slow reference and follows each rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, event, find, given, settings
from hypothesis import strategies as st
from triple_barrier_reference import Outcome, reference_triple_barrier

from cvntrade.errors import UserInputError
from cvntrade.features import (
    EXIT_HORIZON,
    EXIT_NONE,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    triple_barrier,
)

Bars = tuple[list[float], list[float], list[float], list[float], float, float, int]
move = st.floats(-0.03, 0.03, allow_nan=False)
wick = st.floats(0.0, 0.03, allow_nan=False)
gap = st.one_of(st.just(0.0), st.just(0.0), st.floats(-0.04, 0.04, allow_nan=False))


@st.composite
def markets(draw: st.DrawFn) -> Bars:
    """Random bars with gaps, wide both-barrier bars, and values snapped exactly onto barriers."""
    stop = draw(st.sampled_from([0.3, 0.5, 1.0, 2.0]))
    take = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
    horizon = draw(st.integers(1, 8))
    shapes = draw(st.lists(st.tuples(gap, move, wick, wick), min_size=2, max_size=40))
    o, h, lo, c = [], [], [], []
    previous_close = 100.0
    for gap_frac, body, up, down in shapes:
        bar_open = previous_close * (1.0 + gap_frac)
        bar_close = bar_open * (1.0 + body)
        o.append(bar_open)
        c.append(bar_close)
        h.append(max(bar_open, bar_close) * (1.0 + up))
        lo.append(min(bar_open, bar_close) * (1.0 - down))
        previous_close = bar_close
    n = len(o)
    snaps = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 2),
                st.integers(1, 8),
                st.sampled_from(["low", "high", "open_stop", "open_take"]),
            ),
            max_size=6,
        )
    )
    for signal, offset, kind in snaps:
        bar = min(signal + offset, n - 1)
        entry = o[signal + 1]
        stop_price = entry * (1.0 - stop / 100.0)
        take_price = entry * (1.0 + take / 100.0)
        if kind == "low":
            lo[bar] = stop_price
        elif kind == "high":
            h[bar] = take_price
        elif kind == "open_stop" and bar > signal + 1:
            o[bar] = stop_price
        elif kind == "open_take" and bar > signal + 1:
            o[bar] = take_price
        h[bar] = max(h[bar], o[bar], c[bar])
        lo[bar] = min(lo[bar], o[bar], c[bar])
    return o, h, lo, c, stop, take, horizon


def _numba_outcomes(bars: Bars) -> list[Outcome]:
    result = triple_barrier(*bars)
    return [
        Outcome(
            int(result.label[i]),
            int(result.exit_index[i]),
            int(result.exit_reason[i]),
            float(result.gross_return_pct[i]),
        )
        for i in range(len(bars[0]))
    ]


def _same(a: Outcome, b: Outcome) -> bool:
    both_nan = math.isnan(a.gross_return_pct) and math.isnan(b.gross_return_pct)
    return (a.label, a.exit_index, a.exit_reason) == (b.label, b.exit_index, b.exit_reason) and (
        both_nan or a.gross_return_pct == b.gross_return_pct
    )


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets())
def test_numba_labels_equal_the_reference_on_random_bars(bars: Bars) -> None:
    expected = reference_triple_barrier(*bars)
    actual = _numba_outcomes(bars)
    for kind in {
        EXIT_NONE: "none",
        EXIT_TAKE_PROFIT: "take",
        EXIT_STOP_LOSS: "stop",
        EXIT_HORIZON: "horizon",
    }.items():
        if any(o.exit_reason == kind[0] for o in expected):
            event(f"exit {kind[1]}")
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        assert _same(want, got), f"signal bar {index}: reference {want}, numba {got}"


def _both_barriers_hit_at_exit(bars: Bars) -> bool:
    o, h, lo, _, stop, take, _ = bars
    for outcome, signal in zip(reference_triple_barrier(*bars), range(len(o)), strict=True):
        if outcome.exit_reason == EXIT_STOP_LOSS and outcome.exit_index > signal + 1:
            entry = o[signal + 1]
            bar = outcome.exit_index
            if h[bar] >= entry * (1 + take / 100) and lo[bar] <= entry * (1 - stop / 100):
                return o[bar] > entry * (1 - stop / 100)
    return False


def _gap_fill_at_exit(bars: Bars) -> bool:
    o, *_ = bars
    return any(
        outcome.exit_reason in (EXIT_STOP_LOSS, EXIT_TAKE_PROFIT)
        and outcome.gross_return_pct == (o[outcome.exit_index] / o[signal + 1] - 1.0) * 100.0
        and outcome.exit_index > signal + 1
        for signal, outcome in enumerate(reference_triple_barrier(*bars))
    )


def test_random_bars_include_both_barrier_bars_and_gap_fills() -> None:
    find(markets(), _both_barriers_hit_at_exit, settings=settings(max_examples=2000))
    find(markets(), _gap_fill_at_exit, settings=settings(max_examples=2000))


def _bars(rows: list[tuple[float, float, float, float]]) -> tuple[list[float], ...]:
    return tuple([row[k] for row in rows] for k in range(4))


def test_entry_is_the_next_open_and_take_profit_fills_at_the_barrier() -> None:
    o, h, lo, c = _bars([(99, 99, 99, 99), (100, 100.5, 99.8, 100.2), (100.2, 101.2, 100.1, 101)])
    result = triple_barrier(o, h, lo, c, 0.5, 1.0, 2)
    assert (result.label[0], result.exit_index[0], result.exit_reason[0]) == (
        1,
        2,
        EXIT_TAKE_PROFIT,
    )
    assert result.gross_return_pct[0] == pytest.approx(1.0)


def test_bar_touching_both_barriers_counts_as_the_stop() -> None:
    o, h, lo, c = _bars([(100, 100, 100, 100), (100, 100.1, 99.9, 100), (100, 102, 99, 101)])
    result = triple_barrier(o, h, lo, c, 0.5, 1.0, 2)
    assert (result.label[0], result.exit_reason[0], result.exit_index[0]) == (0, EXIT_STOP_LOSS, 2)
    assert result.gross_return_pct[0] == pytest.approx(-0.5)


def test_gap_through_the_stop_fills_at_the_open_not_the_stop() -> None:
    o, h, lo, c = _bars([(100, 100, 100, 100), (100, 100.1, 99.9, 100), (97, 98, 96, 97.5)])
    result = triple_barrier(o, h, lo, c, 0.5, 1.0, 2)
    assert result.exit_reason[0] == EXIT_STOP_LOSS
    assert result.gross_return_pct[0] == pytest.approx(-3.0)


def test_gap_through_the_take_profit_fills_at_the_open() -> None:
    o, h, lo, c = _bars([(100, 100, 100, 100), (100, 100.1, 99.9, 100), (103, 104, 95, 103)])
    result = triple_barrier(o, h, lo, c, 0.5, 1.0, 2)
    assert (result.label[0], result.exit_reason[0]) == (1, EXIT_TAKE_PROFIT)
    assert result.gross_return_pct[0] == pytest.approx(3.0)


def test_no_barrier_exits_at_the_horizon_close_and_last_bars_are_unlabelable() -> None:
    o, h, lo, c = _bars([(100, 100, 100, 100)] * 2 + [(100, 100.4, 99.6, 100.3)] * 3)
    result = triple_barrier(o, h, lo, c, 0.5, 1.0, 3)
    assert (result.label[0], result.exit_index[0], result.exit_reason[0]) == (0, 3, EXIT_HORIZON)
    assert result.gross_return_pct[0] == pytest.approx(0.3)
    assert result.label[1] == 0
    assert list(result.label[2:]) == [-1, -1, -1]
    assert list(result.exit_reason[2:]) == [EXIT_NONE] * 3
    assert np.isnan(result.gross_return_pct[2:]).all()


@pytest.mark.parametrize(("stop", "take", "horizon"), [(0, 1, 4), (0.5, -1, 4), (0.5, 1, 0)])
def test_invalid_parameters_are_user_errors(stop: float, take: float, horizon: int) -> None:
    with pytest.raises(UserInputError):
        triple_barrier([1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0], stop, take, horizon)


def test_arrays_of_different_lengths_are_rejected() -> None:
    with pytest.raises(UserInputError, match="same length"):
        triple_barrier([1.0, 1.0], [1.0], [1.0, 1.0], [1.0, 1.0], 0.5, 1.0, 1)


def test_threaded_and_single_thread_kernels_agree() -> None:
    rng = np.random.default_rng(4)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.006, 5000)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.001, 5000))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.006, 5000))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.006, 5000))
    serial = triple_barrier(open_, high, low, close, 0.5, 1.0, 12, parallel=False)
    threaded = triple_barrier(open_, high, low, close, 0.5, 1.0, 12, parallel=True)
    for field in ("label", "exit_index", "exit_reason", "gross_return_pct"):
        assert np.array_equal(getattr(serial, field), getattr(threaded, field), equal_nan=True)
