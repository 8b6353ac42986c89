"""Expectancy per symbol, loss function and window (48h, 7d, 14d_baseline) from the journal.

The windows are the runbook's (see `cvntrade.journal.expectancy.expectancy_folds`): trades
*entered* (`entry_time`) in the last 48 h, the last 7 d, and the 14 d baseline that excludes the
last 48 h. One aggregate query returns count, sum and sum of squares of `realized_pnl_pct` per
(symbol, loss, window) on SQLite and PostgreSQL alike; `signals.expectancy_from_moments` turns
them into a mean and a 95 % t interval. The `48h` / `focal` mean is exactly the runbook step-1
value that the alert rule reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from cvntrade.db.tables import LOSS_FUNCTIONS, trade_journal
from cvntrade.monitoring.signals import ExpectancyStats, expectancy_from_moments

WINDOWS = ("48h", "7d", "14d_baseline")


@dataclass(frozen=True, slots=True)
class WindowExpectancy:
    """One (symbol, loss function, window) cell of the expectancy table."""

    crypto_symbol: str
    model_loss_function: str
    window: str
    stats: ExpectancyStats


def window_bounds(now: dt.datetime) -> dict[str, tuple[dt.datetime, dt.datetime | None]]:
    """`[start, end)` of each window as of `now` (end None: open-ended, like the runbook SQL)."""
    since_48h = now - dt.timedelta(hours=48)
    return {
        "48h": (since_48h, None),
        "7d": (now - dt.timedelta(days=7), None),
        "14d_baseline": (now - dt.timedelta(days=14), since_48h),
    }


def expectancy_windows(engine: Engine, now: dt.datetime) -> list[WindowExpectancy]:
    """Every (symbol, loss, window) with at least one trade, sorted; one query."""
    tj = trade_journal.c
    pnl = tj.realized_pnl_pct
    bounds = window_bounds(now)
    columns = []
    for start, end in bounds.values():
        cond = [tj.entry_time >= start] + ([tj.entry_time < end] if end is not None else [])
        columns += [
            func.count().filter(*cond),
            func.sum(pnl).filter(*cond),
            func.sum(pnl * pnl).filter(*cond),
        ]
    earliest = min(start for start, _ in bounds.values())
    query = (
        select(tj.crypto_symbol, tj.model_loss_function, *columns)
        # Always true (check constraint), but it lets PostgreSQL answer from the covering index
        # (model_loss_function, entry_time) INCLUDE (crypto_symbol, realized_pnl_pct):
        # an index-only scan instead of a sequential scan of the whole journal (8x at 10 M rows).
        .where(tj.model_loss_function.in_(LOSS_FUNCTIONS), tj.entry_time >= earliest)
        .group_by(tj.crypto_symbol, tj.model_loss_function)
        .order_by(tj.crypto_symbol, tj.model_loss_function)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for row in rows:
        for k, window in enumerate(WINDOWS):
            n, total, total_sq = row[2 + 3 * k : 5 + 3 * k]
            if n:
                stats = expectancy_from_moments(int(n), float(total), float(total_sq))
                out.append(WindowExpectancy(row[0], row[1], window, stats))
    return out


def focal_48h(rows: list[WindowExpectancy]) -> dict[str, float]:
    """{symbol: 48 h focal expectancy} — the input of `alerts.evaluate`."""
    return {
        r.crypto_symbol: r.stats.mean
        for r in rows
        if r.window == "48h" and r.model_loss_function == "focal"
    }
