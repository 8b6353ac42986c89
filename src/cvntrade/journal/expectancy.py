"""The runbook's journal queries as product features, on SQLite and PostgreSQL alike.

`expectancy_by_symbol` is runbook step 1 (expectancy and trade count per symbol over a window);
`expectancy_folds` is the diagnosis "per-fold analysis" (7 d, 48 h and the 14 d baseline that
excludes the last 48 h). Expectancy is the mean of `realized_pnl_pct` (percent, net), so the
runbook's regime rule `exp_48h < exp_14d_baseline - 0.01` is in percent points.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from cvntrade.clock import Clock, utc_now
from cvntrade.db.tables import trade_journal
from cvntrade.errors import UserInputError

REGIME_SHIFT_MARGIN_PCT = 0.01
_WINDOW_RE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class SymbolExpectancy:
    """Realized net expectancy (mean `realized_pnl_pct`, percent) of one symbol over a window."""

    crypto_symbol: str
    expectancy_pct: float
    n_trades: int

    @property
    def negative(self) -> bool:
        """True when the symbol loses money on average (what the alert counts)."""
        return self.expectancy_pct < 0


@dataclass(frozen=True, slots=True)
class FoldExpectancy:
    """Runbook per-fold analysis for one symbol; a window with no trades is None."""

    crypto_symbol: str
    exp_7d: float | None
    exp_48h: float | None
    exp_14d_baseline: float | None

    @property
    def regime_shift(self) -> bool | None:
        """The runbook's verdict `exp_48h < exp_14d_baseline - 0.01`; None when data is missing."""
        if self.exp_48h is None or self.exp_14d_baseline is None:
            return None
        return self.exp_48h < self.exp_14d_baseline - REGIME_SHIFT_MARGIN_PCT


MAX_WINDOW = dt.timedelta(days=3650)
"""Ten years: longer windows are typos (and overflow date arithmetic)."""


def parse_window(text: str) -> dt.timedelta:
    """Parse a window such as `48h`, `7d`, `30m` or `2w`."""
    match = _WINDOW_RE.match(text)
    if match is None or int(match[1]) == 0:
        raise UserInputError(
            f"invalid window {text!r}: expected a positive number and a unit m/h/d/w, e.g. 48h"
        )
    seconds = int(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds > MAX_WINDOW.total_seconds():
        raise UserInputError(f"invalid window {text!r}: at most {MAX_WINDOW.days} days")
    return dt.timedelta(seconds=seconds)


def expectancy_by_symbol(
    engine: Engine,
    *,
    window: dt.timedelta,
    loss: str | None = "focal",
    clock: Clock = utc_now,
) -> list[SymbolExpectancy]:
    """Per-symbol expectancy over trades entered within `window` before now (runbook step 1)."""
    tj = trade_journal.c
    query = (
        select(tj.crypto_symbol, func.avg(tj.realized_pnl_pct), func.count())
        .where(tj.entry_time >= clock() - window)
        .group_by(tj.crypto_symbol)
        .order_by(tj.crypto_symbol)
    )
    if loss is not None:
        query = query.where(tj.model_loss_function == loss)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [SymbolExpectancy(symbol, float(avg), int(n)) for symbol, avg, n in rows]


def expectancy_folds(
    engine: Engine,
    *,
    loss: str | None = "focal",
    clock: Clock = utc_now,
    windows_only: bool = False,
) -> list[FoldExpectancy]:
    """The runbook's per-fold analysis: exp_7d, exp_48h and exp_14d_baseline per symbol.

    Like the runbook's SQL, every symbol with a trade of `loss` is listed, windows without
    trades as None — which reads the whole journal of that loss. With `windows_only`, only
    trades entered in the last 14 d (the union of the three windows) are read, through the
    entry-time indexes: same numbers, but a symbol with no trade in 14 d is left out instead
    of listed with three Nones (`runbook diagnose`, which treats both alike: 23 s → 0.3 s on a
    1 M-trade SQLite journal).
    """
    tj = trade_journal.c
    now = clock()
    since_48h = now - dt.timedelta(hours=48)
    since_14d = now - dt.timedelta(days=14)
    pnl = tj.realized_pnl_pct
    query = (
        select(
            tj.crypto_symbol,
            func.avg(pnl).filter(tj.entry_time >= now - dt.timedelta(days=7)),
            func.avg(pnl).filter(tj.entry_time >= since_48h),
            func.avg(pnl).filter(tj.entry_time >= since_14d, tj.entry_time < since_48h),
        )
        .group_by(tj.crypto_symbol)
        .order_by(tj.crypto_symbol)
    )
    if loss is not None:
        query = query.where(tj.model_loss_function == loss)
    if windows_only:
        query = query.where(tj.entry_time >= since_14d)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [FoldExpectancy(symbol, _opt(a), _opt(b), _opt(c)) for symbol, a, b, c in rows]


@dataclass(frozen=True, slots=True)
class LossExpectancy:
    """Expectancy (mean `realized_pnl_pct`, percent) of one symbol and loss over `[start, end)`."""

    crypto_symbol: str
    model_loss_function: str
    expectancy_pct: float
    n_trades: int


def expectancy_between(
    engine: Engine, *, start: dt.datetime, end: dt.datetime
) -> list[LossExpectancy]:
    """Per (symbol, loss) expectancy of trades entered in `[start, end)`, sorted.

    The incident report's "before / after" numbers: the same mean as step 1, over a closed
    window on both sides of the rollback instead of "the last 48 h".
    """
    tj = trade_journal.c
    query = (
        select(
            tj.crypto_symbol, tj.model_loss_function, func.avg(tj.realized_pnl_pct), func.count()
        )
        .where(tj.entry_time >= start, tj.entry_time < end)
        .group_by(tj.crypto_symbol, tj.model_loss_function)
        .order_by(tj.crypto_symbol, tj.model_loss_function)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [LossExpectancy(symbol, loss, float(avg), int(n)) for symbol, loss, avg, n in rows]


def _opt(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
