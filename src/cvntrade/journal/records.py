"""Domain records of the trade journal."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from cvntrade.db.tables import EXIT_REASONS, LOSS_FUNCTIONS, SIDES, TRADE_SOURCES

__all__ = ["EXIT_REASONS", "LOSS_FUNCTIONS", "SIDES", "TRADE_SOURCES", "Trade"]


@dataclass(frozen=True, slots=True)
class Trade:
    """One closed trade.

    `realized_pnl_pct` is percent, net of fees and slippage (1.0 = +1 %); `fees_pct` is the
    round-trip fee in percent; times are naive UTC; `model_loss_function` is `binary` or `focal`.
    """

    trade_id: str
    crypto_symbol: str
    strategy: str
    model_name: str
    model_version: int
    model_loss_function: str
    entry_time: dt.datetime
    exit_time: dt.datetime
    entry_price: float
    exit_price: float
    exit_reason: str
    fees_pct: float
    realized_pnl_pct: float
    probability: float | None = None
    side: str = "long"
    source: str = "engine"

    def as_row(self) -> dict[str, Any]:
        """The row to insert into `trade_journal`."""
        return asdict(self)
