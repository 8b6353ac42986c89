"""A slow, obviously-correct pure-Python triple-barrier labeller: the oracle for the numba one.

Written from the rules in `cvntrade.features.labels`, one trade at a time, no cleverness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

NONE, TAKE_PROFIT, STOP_LOSS, HORIZON = 0, 1, 2, 3


@dataclass(frozen=True)
class Outcome:
    """What one long trade opened after a signal bar did."""

    label: int
    exit_index: int
    exit_reason: int
    gross_return_pct: float


def reference_triple_barrier(
    open_: Sequence[float],
    high: Sequence[float],
    low: Sequence[float],
    close: Sequence[float],
    stop_pct: float,
    take_pct: float,
    horizon_bars: int,
) -> list[Outcome]:
    """One `Outcome` per signal bar, following the rules literally."""
    outcomes = []
    for signal in range(len(open_)):
        holding = list(range(signal + 1, signal + horizon_bars + 1))
        if holding[-1] >= len(open_):
            outcomes.append(Outcome(-1, -1, NONE, math.nan))
            continue
        entry_price = open_[signal + 1]
        stop_price = entry_price * (1.0 - stop_pct / 100.0)
        take_price = entry_price * (1.0 + take_pct / 100.0)
        exit_reason, exit_bar, exit_price = HORIZON, holding[-1], close[holding[-1]]
        for bar in holding:
            gapped_through_stop = open_[bar] <= stop_price
            gapped_through_take = open_[bar] >= take_price
            touched_stop = low[bar] <= stop_price
            touched_take = high[bar] >= take_price
            if gapped_through_stop:
                exit_reason, exit_bar, exit_price = STOP_LOSS, bar, open_[bar]
                break
            if gapped_through_take:
                exit_reason, exit_bar, exit_price = TAKE_PROFIT, bar, open_[bar]
                break
            if touched_stop:  # also when the take profit was touched too: the stop counts
                exit_reason, exit_bar, exit_price = STOP_LOSS, bar, stop_price
                break
            if touched_take:
                exit_reason, exit_bar, exit_price = TAKE_PROFIT, bar, take_price
                break
        label = 1 if exit_reason == TAKE_PROFIT else 0
        gross = (exit_price / entry_price - 1.0) * 100.0
        outcomes.append(Outcome(label, exit_bar, exit_reason, gross))
    return outcomes
