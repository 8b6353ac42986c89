"""The pure-Python trade simulation and threshold search as they were before the numba kernels.

Kept verbatim (only renamed) as the reference the compiled kernels must equal exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cvntrade.training.simulation import (
    DEFAULT_MIN_TRADES,
    THRESHOLD_QUANTILES,
    FloatArray,
    SimulatedTrades,
    ThresholdChoice,
    TradeOutcomes,
)


def reference_simulate_trades(
    probs: npt.ArrayLike, threshold: float | FloatArray, outcomes: TradeOutcomes
) -> SimulatedTrades:
    """Trade every signal `probs >= threshold`, one position at a time (Python loop)."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    if p.shape[0] != len(outcomes):
        raise ValueError(f"{p.shape[0]} probabilities for {len(outcomes)} outcomes")
    candidates = np.flatnonzero(p >= threshold)
    candidate_close = outcomes.signal_close_ms[candidates]
    taken: list[int] = []
    position = 0
    while position < candidates.shape[0]:
        row = int(candidates[position])
        taken.append(row)
        free_at = outcomes.exit_ms[row]
        position = max(position + 1, int(np.searchsorted(candidate_close, free_at, side="left")))
    rows = np.asarray(taken, dtype=np.int64)
    net = outcomes.gross_return_pct[rows] - outcomes.cost_pct
    return SimulatedTrades(rows, net.astype(np.float64))


def reference_choose_threshold(
    probs: npt.ArrayLike,
    outcomes: TradeOutcomes,
    *,
    break_even: float,
    min_trades: int = DEFAULT_MIN_TRADES,
) -> ThresholdChoice:
    """Best-expectancy quantile threshold with >= `min_trades` trades, else break-even."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    best: ThresholdChoice | None = None
    if p.size:
        for quantile in THRESHOLD_QUANTILES:
            threshold = float(np.quantile(p, quantile, method="lower"))
            trades = reference_simulate_trades(p, threshold, outcomes)
            if trades.n_trades < min_trades:
                continue
            if best is None or trades.net_expectancy_pct > best.net_expectancy_pct:
                rule = f"quantile:{quantile:.2f}"
                best = ThresholdChoice(threshold, rule, trades.net_expectancy_pct, trades.n_trades)
    if best is not None and best.net_expectancy_pct > 0:
        return best
    fallback = reference_simulate_trades(p, break_even, outcomes) if p.size else None
    return ThresholdChoice(
        break_even,
        "break_even",
        fallback.net_expectancy_pct if fallback else float("nan"),
        fallback.n_trades if fallback else 0,
    )
