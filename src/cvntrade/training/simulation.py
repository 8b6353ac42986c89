"""Trading the hold-out: net expectancy of a threshold, and the rule that picks the threshold.

A signal is a bar whose calibrated probability is `>= threshold`. The strategy holds one position
at a time: a trade taken on signal bar `i` enters at the next bar's open and exits at the
triple-barrier exit (`label_end`, the close of the exit bar); signals whose bar closes before
that exit are skipped (compiled kernels `_take_trades` / `_take_trades_per_threshold`: the
threshold search simulates 25 thresholds per fold and was ~45 % of a sweep cell in Python; a
copy of the Python version is kept as the reference in tests). Each trade earns its label's
gross return minus the round-trip costs,
`net_return_pct = gross_return_pct - fees_pct - slippage_pct` (percent, like
`realized_pnl_pct` in the journal). Net expectancy is the mean net return of the trades.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from cvntrade.strategy import Strategy

THRESHOLD_QUANTILES: tuple[float, ...] = tuple(round(0.50 + 0.02 * k, 2) for k in range(25))
DEFAULT_MIN_TRADES = 30
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class TradeOutcomes:
    """What trading each row would have given: when its signal is known, its exit, its return.

    `signal_close_ms`: close of the signal bar (epoch ms, ascending); `exit_ms`: close of the
    exit bar (`label_end`); `gross_return_pct`: the label's return before costs (percent);
    `cost_pct`: round-trip fees plus slippage (percent).
    """

    signal_close_ms: IntArray
    exit_ms: IntArray
    gross_return_pct: FloatArray
    cost_pct: float

    def take(self, rows: IntArray) -> TradeOutcomes:
        """The outcomes of a subset of rows (kept in time order)."""
        return TradeOutcomes(
            self.signal_close_ms[rows],
            self.exit_ms[rows],
            self.gross_return_pct[rows],
            self.cost_pct,
        )

    def __len__(self) -> int:
        return int(self.signal_close_ms.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class SimulatedTrades:
    """The trades one simulation took: row indices and net returns (percent)."""

    rows: IntArray
    net_return_pct: FloatArray

    @property
    def n_trades(self) -> int:
        """How many trades were taken."""
        return int(self.rows.shape[0])

    @property
    def net_expectancy_pct(self) -> float:
        """Mean net return per trade, percent; NaN when no trade was taken."""
        return float(np.mean(self.net_return_pct)) if self.n_trades else float("nan")


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """A trading threshold and why: `rule` is `quantile:<q>` or `break_even`."""

    threshold: float
    rule: str
    net_expectancy_pct: float
    n_trades: int


@njit(cache=True, nogil=True)
def _take_trades(
    candidates: IntArray, candidate_close: IntArray, exit_ms: IntArray, out: IntArray
) -> int:  # pragma: no cover - compiled by numba; checked against the reference in tests
    """Write the rows traded among `candidates` (signal rows, ascending) into `out`; count.

    A trade on `candidates[k]` blocks every later candidate whose signal bar closes before its
    exit (`searchsorted(..., side="left")` on the ascending candidate closes).
    """
    n = candidates.shape[0]
    count = 0
    position = 0
    while position < n:
        row = candidates[position]
        out[count] = row
        count += 1
        position = max(position + 1, np.searchsorted(candidate_close, exit_ms[row]))
    return count


@njit(cache=True, nogil=True)
def _take_trades_per_threshold(
    probs: FloatArray,
    thresholds: FloatArray,
    signal_close_ms: IntArray,
    exit_ms: IntArray,
    rows_out: IntArray,
    counts_out: IntArray,
) -> None:  # pragma: no cover - compiled by numba; checked against the reference in tests
    """For each threshold `k`, the rows traded at `probs >= thresholds[k]` into `rows_out[k]`."""
    n = probs.shape[0]
    candidates = np.empty(n, dtype=np.int64)
    candidate_close = np.empty(n, dtype=np.int64)
    for k in range(thresholds.shape[0]):
        threshold = thresholds[k]
        m = 0
        for i in range(n):
            if probs[i] >= threshold:
                candidates[m] = i
                candidate_close[m] = signal_close_ms[i]
                m += 1
        counts_out[k] = _take_trades(candidates[:m], candidate_close[:m], exit_ms, rows_out[k])


def simulate_trades(
    probs: npt.ArrayLike, threshold: float | FloatArray, outcomes: TradeOutcomes
) -> SimulatedTrades:
    """Trade every signal `probs >= threshold`, one position at a time (module docstring)."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    if p.shape[0] != len(outcomes):
        raise ValueError(f"{p.shape[0]} probabilities for {len(outcomes)} outcomes")
    candidates = np.flatnonzero(p >= threshold).astype(np.int64)
    buffer = np.empty(candidates.shape[0], dtype=np.int64)
    count = _take_trades(
        candidates,
        np.ascontiguousarray(outcomes.signal_close_ms[candidates], dtype=np.int64),
        np.ascontiguousarray(outcomes.exit_ms, dtype=np.int64),
        buffer,
    )
    rows = buffer[:count]
    net = outcomes.gross_return_pct[rows] - outcomes.cost_pct
    return SimulatedTrades(rows, net.astype(np.float64))


def break_even_probability(strategy: Strategy, cost_pct: float) -> float:
    """The win rate at which a barrier trade breaks even after costs.

    A win earns `take_pct - cost`, a loss `-stop_pct - cost`, so
    `p * take - (1 - p) * stop - cost = 0` gives `p = (stop + cost) / (take + stop)`
    (trades closed at the horizon are ignored). `SL0.5_TP1` with 0.12 % costs: 0.4133.
    """
    value = (strategy.stop_pct + cost_pct) / (strategy.take_pct + strategy.stop_pct)
    return float(min(value, 1.0))


def choose_threshold(
    probs: npt.ArrayLike,
    outcomes: TradeOutcomes,
    *,
    break_even: float,
    min_trades: int = DEFAULT_MIN_TRADES,
) -> ThresholdChoice:
    """The threshold to trade with, chosen on earlier out-of-fold predictions.

    Candidates are the quantiles `THRESHOLD_QUANTILES` (0.50, 0.52, …, 0.98) of `probs`; each is
    simulated and the one with the highest net expectancy among those with at least `min_trades`
    trades wins. When no candidate reaches `min_trades` trades, or the best expectancy is not
    positive, the threshold is `break_even` (the strategy's break-even win rate: trade only when
    the calibrated probability says the trade pays for its costs).
    """
    p = np.ascontiguousarray(probs, dtype=np.float64).reshape(-1)
    best: ThresholdChoice | None = None
    if p.size:
        if p.shape[0] != len(outcomes):
            raise ValueError(f"{p.shape[0]} probabilities for {len(outcomes)} outcomes")
        thresholds = np.quantile(p, THRESHOLD_QUANTILES, method="lower").astype(np.float64)
        rows = np.empty((thresholds.shape[0], p.shape[0]), dtype=np.int64)
        counts = np.zeros(thresholds.shape[0], dtype=np.int64)
        _take_trades_per_threshold(
            p,
            thresholds,
            np.ascontiguousarray(outcomes.signal_close_ms, dtype=np.int64),
            np.ascontiguousarray(outcomes.exit_ms, dtype=np.int64),
            rows,
            counts,
        )
        for k, quantile in enumerate(THRESHOLD_QUANTILES):
            n_trades = int(counts[k])
            if n_trades < min_trades:
                continue
            net = outcomes.gross_return_pct[rows[k, :n_trades]] - outcomes.cost_pct
            expectancy = float(np.mean(net.astype(np.float64))) if n_trades else float("nan")
            if best is None or expectancy > best.net_expectancy_pct:
                threshold = float(thresholds[k])
                best = ThresholdChoice(threshold, f"quantile:{quantile:.2f}", expectancy, n_trades)
    if best is not None and best.net_expectancy_pct > 0:
        return best
    fallback = simulate_trades(p, break_even, outcomes) if p.size else None
    return ThresholdChoice(
        break_even,
        "break_even",
        fallback.net_expectancy_pct if fallback else float("nan"),
        fallback.n_trades if fallback else 0,
    )
