"""Label balance: refuse (nearly) one-class training labels, and find barriers that fit an asset.

A strategy's barriers must fit the asset's volatility: `SL0.5_TP1_H4` on hourly FX (≈ 0.1 % an
hour) almost never reaches +1 % in 4 h, so nearly every label is 0; a model trained on that
learns nothing and its metrics (log loss, Brier, ECE ≈ 0) look perfect. Training therefore
stops when the labels are degenerate:

* the positive rate (share of label 1) is below `MIN_POSITIVE_RATE` (2 %) or above
  `MAX_POSITIVE_RATE` (98 %), or
* either class has fewer than `MIN_CLASS_ROWS` (30) rows.

`label_rate_grid` gives the positive rate of a grid of stop / take / horizon on stored bars
(the rows training would use: usable bars with a complete horizon), so a user can choose
barriers that fit (`cvntrade data label-rates SYMBOL`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from cvntrade.errors import UserInputError
from cvntrade.features.gaps import horizon_complete, usable_bars
from cvntrade.features.labels import triple_barrier
from cvntrade.features.technical import compute_features
from cvntrade.market.schema import interval_ms, timestamps_ms
from cvntrade.strategy import Strategy

MIN_POSITIVE_RATE = 0.02
MAX_POSITIVE_RATE = 0.98
MIN_CLASS_ROWS = 30
DEFAULT_STOPS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
DEFAULT_TAKE_RATIOS = (1.0, 2.0)
SUB_DAILY_HORIZON_HOURS = (4, 12, 24, 72)
DAILY_HORIZON_BARS = (2, 5, 10, 20)
SUGGESTED_RATES = (0.25, 0.6)
_HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class LabelBalance:
    """Rows, positives and positive rate of a set of 0/1 labels; `degenerate` per the rules."""

    rows: int
    positives: int

    @property
    def negatives(self) -> int:
        """Rows labelled 0."""
        return self.rows - self.positives

    @property
    def rate(self) -> float:
        """Share of label 1 (NaN without rows)."""
        return self.positives / self.rows if self.rows else float("nan")

    @property
    def degenerate(self) -> bool:
        """True when the labels are (nearly) one class (module docstring)."""
        if self.rows == 0:
            return True
        return (
            not MIN_POSITIVE_RATE <= self.rate <= MAX_POSITIVE_RATE
            or min(self.positives, self.negatives) < MIN_CLASS_ROWS
        )


@dataclass(frozen=True, slots=True)
class LabelRate:
    """The positive rate of one strategy on the stored bars."""

    strategy: str
    stop_pct: float
    take_pct: float
    horizon_bars: int
    rows: int
    positives: int

    @property
    def rate(self) -> float:
        """Share of label 1 (NaN without rows)."""
        return self.positives / self.rows if self.rows else float("nan")


def label_balance(labels: npt.ArrayLike) -> LabelBalance:
    """The balance of 0/1 labels."""
    y = np.asarray(labels).reshape(-1)
    return LabelBalance(rows=int(y.size), positives=int(np.sum(y == 1)))


def default_horizons(interval: str) -> tuple[str, ...]:
    """Horizon spellings that fit `interval`: hours below a day, days (bars x 2..20) above."""
    step = interval_ms(interval)
    if step >= 24 * _HOUR_MS:
        days = step // (24 * _HOUR_MS)
        return tuple(f"D{days * k}" for k in DAILY_HORIZON_BARS)
    return tuple(f"H{h}" for h in SUB_DAILY_HORIZON_HOURS if (h * _HOUR_MS) % step == 0)


def strategy_grid(
    interval: str,
    stops: Sequence[float] = DEFAULT_STOPS,
    take_ratios: Sequence[float] = DEFAULT_TAKE_RATIOS,
    horizons: Sequence[str] | None = None,
) -> list[Strategy]:
    """Every stop x (take = ratio x stop) x horizon strategy of the grid."""
    spelled = horizons if horizons is not None else default_horizons(interval)
    return [
        Strategy.parse(f"SL{stop:g}_TP{stop * ratio:g}_{horizon}")
        for horizon in spelled
        for stop in stops
        for ratio in take_ratios
    ]


def label_rate_grid(
    bars: pd.DataFrame, interval: str, strategies: Sequence[Strategy]
) -> list[LabelRate]:
    """Positive rate of each strategy over the rows training would use on `bars`."""
    from cvntrade.features.dataset import horizon_bars_for

    step = interval_ms(interval)
    ms = timestamps_ms(bars)
    usable = usable_bars(ms, bars["filled"].to_numpy(bool), compute_features(bars).to_numpy(), step)
    o, h, lo, c = (bars[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))
    out = []
    for strategy in strategies:
        horizon = horizon_bars_for(strategy, interval)
        rows = usable & horizon_complete(ms, step, horizon)
        labels = triple_barrier(o, h, lo, c, strategy.stop_pct, strategy.take_pct, horizon).label
        out.append(
            LabelRate(
                strategy=strategy.name,
                stop_pct=strategy.stop_pct,
                take_pct=strategy.take_pct,
                horizon_bars=horizon,
                rows=int(rows.sum()),
                positives=int(np.sum(labels[rows] == 1)),
            )
        )
    return out


def suggestions(rates: Sequence[LabelRate], limit: int = 3) -> list[LabelRate]:
    """Grid strategies whose positive rate is comfortably two-class (25-60 %), best first."""
    low, high = SUGGESTED_RATES
    fitting = [
        r
        for r in rates
        if r.rows and low <= r.rate <= high and min(r.positives, r.rows - r.positives) >= 100
    ]
    return sorted(fitting, key=lambda r: (abs(r.rate - 0.4), r.horizon_bars))[:limit]


def degenerate_labels_message(
    symbol: str, interval: str, strategy: Strategy, balance: LabelBalance, fits: Sequence[LabelRate]
) -> str:
    """The one-line refusal: the positive rate, the rule, and barriers that would fit."""
    hint = (
        "barriers that fit this asset: "
        + ", ".join(f"{r.strategy} ({r.rate:.0%} positive)" for r in fits)
        if fits
        else "no barrier of the default grid fits either"
    )
    skewed = not (balance.rows and MIN_POSITIVE_RATE <= balance.rate <= MAX_POSITIVE_RATE)
    what = "are (nearly) one class" if skewed else "have too few rows of one class"
    return (
        f"{symbol} {interval} {strategy.name}: the training labels {what} — "
        f"positive rate {balance.rate:.2%} ({balance.positives} of {balance.rows} rows; needed "
        f"{MIN_POSITIVE_RATE:.0%}-{MAX_POSITIVE_RATE:.0%} and >= {MIN_CLASS_ROWS} rows of each "
        f"class); {hint}. See `cvntrade data label-rates {symbol} --interval {interval}`"
    )


def refuse_degenerate(
    symbol: str, interval: str, strategy: Strategy, labels: npt.ArrayLike, bars: pd.DataFrame
) -> LabelBalance:
    """Raise `UserInputError` naming the rate and suggestions when `labels` are degenerate."""
    balance = label_balance(labels)
    if balance.degenerate:
        fits = suggestions(label_rate_grid(bars, interval, strategy_grid(interval)))
        raise UserInputError(degenerate_labels_message(symbol, interval, strategy, balance, fits))
    return balance
