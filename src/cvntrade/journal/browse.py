"""Read-only journal views for operators: a filtered, paginated trade list and per-window counts.

The console's `/journal` page and CSV export and its `/expectancy` panel read these; the maths
of expectancy stays in `cvntrade.journal.expectancy` (one rule, many readers).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, func, select

from cvntrade.clock import Clock, utc_now
from cvntrade.db.tables import LOSS_FUNCTIONS, trade_journal
from cvntrade.errors import UserInputError
from cvntrade.journal.records import Trade
from cvntrade.strategy import parse_symbol

MAX_PAGE_SIZE = 1000
EXPORT_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which trades to show: one symbol and/or one loss function (None = all)."""

    crypto_symbol: str | None = None
    model_loss_function: str | None = None

    def __post_init__(self) -> None:
        if self.crypto_symbol is not None:
            parse_symbol(self.crypto_symbol)
        if self.model_loss_function is not None and self.model_loss_function not in LOSS_FUNCTIONS:
            raise UserInputError(
                f"invalid loss {self.model_loss_function!r}: use one of {', '.join(LOSS_FUNCTIONS)}"
            )


@dataclass(frozen=True, slots=True)
class JournalPage:
    """One page of trades, newest entry first, and how many match in total."""

    trades: tuple[Trade, ...]
    total: int
    limit: int
    offset: int


def _where(query: Select[Any], flt: JournalFilter) -> Select[Any]:
    tj = trade_journal.c
    if flt.crypto_symbol is not None:
        query = query.where(tj.crypto_symbol == flt.crypto_symbol)
    if flt.model_loss_function is not None:
        query = query.where(tj.model_loss_function == flt.model_loss_function)
    return query


def journal_page(
    engine: Engine, flt: JournalFilter, *, limit: int = 50, offset: int = 0
) -> JournalPage:
    """Trades matching `flt`, newest entry first, `limit` from `offset`."""
    if not 1 <= limit <= EXPORT_LIMIT:
        raise UserInputError(f"limit must be between 1 and {EXPORT_LIMIT} (got {limit})")
    if offset < 0:
        raise UserInputError(f"offset must be >= 0 (got {offset})")
    columns = [trade_journal.c[name] for name in Trade.__dataclass_fields__]
    rows_query = _where(select(*columns), flt)
    count_query = _where(select(func.count()).select_from(trade_journal), flt)
    rows_query = (
        rows_query.order_by(trade_journal.c.entry_time.desc(), trade_journal.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        total = int(conn.execute(count_query).scalar_one())
        rows = conn.execute(rows_query).mappings().all()
    return JournalPage(tuple(Trade(**dict(row)) for row in rows), total, limit, offset)


@dataclass(frozen=True, slots=True)
class WindowCount:
    """Expectancy (mean `realized_pnl_pct`, percent) and trade count over one window."""

    expectancy_pct: float | None
    n_trades: int


def expectancy_windows(
    engine: Engine,
    windows: dict[str, dt.timedelta],
    *,
    loss: str | None = None,
    clock: Clock = utc_now,
) -> dict[str, dict[str, WindowCount]]:
    """Per symbol, per named window: expectancy and trade count of trades entered since."""
    tj = trade_journal.c
    now = clock()
    columns = []
    for span in windows.values():
        since = tj.entry_time >= now - span
        columns += [func.avg(tj.realized_pnl_pct).filter(since), func.count().filter(since)]
    query = select(tj.crypto_symbol, *columns).group_by(tj.crypto_symbol).order_by(tj.crypto_symbol)
    if loss is not None:
        query = query.where(tj.model_loss_function == loss)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    result: dict[str, dict[str, WindowCount]] = {}
    for row in rows:
        values = list(row)[1:]
        result[row[0]] = {
            name: WindowCount(
                None if values[2 * i] is None else float(values[2 * i]), int(values[2 * i + 1])
            )
            for i, name in enumerate(windows)
        }
    return result
