"""The position state machine trades exactly what the triple-barrier labels describe."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvntrade.features import EXIT_REASONS, triple_barrier
from cvntrade.strategy import Strategy
from cvntrade.trading.positions import Bar, BookState, ModelStamp, signal, step_bar

MODEL = ModelStamp("CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4", 3, "focal")
STEP = 3_600_000


def _market(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.006, n)))
    gap = rng.random(n) < 0.05  # some bars open far from the previous close (gaps)
    open_ = np.concatenate(([100.0], close[:-1])) * np.where(gap, np.exp(rng.normal(0, 0.01, n)), 1)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.003, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.003, n)))
    return np.column_stack([open_, high, low, close])


def _run_state_machine(
    ohlc: np.ndarray, probs: np.ndarray, strategy: Strategy, horizon: int, threshold: float
) -> list[tuple[int, int, str, float]]:
    state, trades = BookState(), []
    for i, (o, h, lo, c) in enumerate(ohlc):
        bar = Bar(i, i * STEP, (i + 1) * STEP, o, h, lo, c)
        outcome = step_bar(state, bar, strategy, horizon)
        if outcome.closed is not None:
            closed = outcome.closed
            trades.append(
                (
                    closed.position.signal_index,
                    closed.exit_index,
                    closed.exit_reason,
                    closed.gross_return_pct,
                )
            )
        state = signal(outcome, bar, float(probs[i]), threshold, MODEL)
    return trades


def _from_labels(
    ohlc: np.ndarray, probs: np.ndarray, strategy: Strategy, horizon: int, threshold: float
) -> list[tuple[int, int, str, float]]:
    """Independent reference: walk the labels, one position at a time."""
    labels = triple_barrier(*ohlc.T, strategy.stop_pct, strategy.take_pct, horizon)
    trades, next_allowed = [], 0
    for t in range(len(probs)):
        if t < next_allowed or probs[t] < threshold:
            continue
        if labels.label[t] < 0:
            break  # the horizon runs past the data: neither side may have closed it yet
        exit_index = int(labels.exit_index[t])
        trades.append(
            (
                t,
                exit_index,
                EXIT_REASONS[int(labels.exit_reason[t])],
                float(labels.gross_return_pct[t]),
            )
        )
        next_allowed = exit_index
    return trades


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    threshold=st.floats(0.3, 0.9),
    strategy=st.sampled_from(["SL0.5_TP1_H4", "SL1_TP2_H12", "SL0.3_TP0.3_H2"]),
)
def test_state_machine_matches_labels_trade_for_trade(
    seed: int, threshold: float, strategy: str
) -> None:
    parsed = Strategy.parse(strategy)
    horizon = parsed.horizon_hours
    ohlc = _market(seed, 600)
    probs = np.random.default_rng(seed + 1).random(600)
    reference = _from_labels(ohlc, probs, parsed, horizon, threshold)
    engine = [
        t
        for t in _run_state_machine(ohlc, probs, parsed, horizon, threshold)
        if t[0] < len(probs) - horizon
    ][: len(reference)]
    assert [t[:3] for t in engine] == [t[:3] for t in reference]
    assert [t[3] for t in engine] == pytest.approx([t[3] for t in reference], abs=1e-9)


def test_kill_switch_closes_at_next_open_and_blocks_entries() -> None:
    strategy = Strategy.parse("SL0.5_TP1_H4")
    flat = [(100.0, 100.2, 99.8, 100.0)] * 6
    state = BookState()
    bars = [Bar(i, i * STEP, (i + 1) * STEP, *ohlc) for i, ohlc in enumerate(flat)]
    outcome = step_bar(state, bars[0], strategy, 4)
    state = signal(outcome, bars[0], 0.9, 0.5, MODEL)  # signal at bar 0
    outcome = step_bar(state, bars[1], strategy, 4)  # entry at bar 1 open
    assert outcome.state.position is not None
    state = outcome.state
    outcome = step_bar(state, bars[2], strategy, 4, stopped="kill_switch")
    assert outcome.closed is not None
    assert (outcome.closed.exit_reason, outcome.closed.exit_ms) == ("kill_switch", 2 * STEP)
    assert outcome.closed.exit_price == 100.0
    assert signal(outcome, bars[2], 0.99, 0.5, MODEL, stopped="kill_switch") == BookState()


def test_pending_entry_is_cancelled_by_halt() -> None:
    strategy = Strategy.parse("SL0.5_TP1_H4")
    bar0 = Bar(0, 0, STEP, 100, 100.1, 99.9, 100)
    bar1 = Bar(1, STEP, 2 * STEP, 100, 100.1, 99.9, 100)
    state = signal(step_bar(BookState(), bar0, strategy, 4), bar0, 0.9, 0.5, MODEL)
    assert state.pending is not None
    outcome = step_bar(state, bar1, strategy, 4, stopped="halt")
    assert outcome.closed is None
    assert outcome.state == BookState()


def test_gap_exit_closes_at_the_last_bar_before_the_gap() -> None:
    from cvntrade.trading.positions import DATA_GAP, gap_exit

    strategy = Strategy.parse("SL0.5_TP1_H4")
    friday = Bar(10, 0, STEP, 100.0, 100.2, 99.9, 100.1)
    state = step_bar(BookState(), friday, strategy, 4)
    state = BookState(pending=None, position=None)
    pending = signal(step_bar(state, friday, strategy, 4), friday, 0.9, 0.5, MODEL)
    entered = step_bar(pending, Bar(11, STEP, 2 * STEP, 100.1, 100.3, 100.0, 100.2), strategy, 4)
    assert entered.state.position is not None
    last = Bar(11, STEP, 2 * STEP, 100.1, 100.3, 100.0, 100.2)
    outcome = gap_exit(entered.state, last)
    assert outcome.state == BookState() and outcome.closed is not None
    assert (outcome.closed.exit_reason, outcome.closed.exit_price) == (DATA_GAP, 100.2)
    assert outcome.closed.exit_ms == 2 * STEP
    # a pending entry is cancelled, a flat book stays flat
    assert gap_exit(pending, friday) == type(outcome)(BookState())
    assert gap_exit(BookState(), friday).closed is None
