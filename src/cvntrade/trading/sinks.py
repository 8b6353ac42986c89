"""Where an engine's records go: the production tables, or one backtest run's tables.

The same `PaperEngine` code trades paper/live and backtests; only its sink differs.

* `ProductionSink` (paper and live engines): closed trades into `trade_journal`
  (`source='engine'`), predictions into `predictions`, one heartbeat + checkpoint per symbol into
  `engine_status`, Prometheus metrics, and the operator switches (kill switch, halt) are obeyed.
* `BacktestSink` (`cvntrade trade replay`): trades into `backtest_trades`, predictions into
  `backtest_predictions`, both keyed by the run id; no heartbeat (a backtest serves nothing, so
  `trade status` and the rollback's propagation wait never see it), no checkpoint (a run always
  starts flat at its `--from`), no metrics, and the production switches do not apply. With
  `into_journal` (drills and rehearsals only) its trades are also written to `trade_journal`
  with `source='drill'` and a `trade_id` prefixed by the run (`bt<ID>:`).

Every `write` returns the rows actually inserted, so reports count rows, not intentions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import backtest_predictions, backtest_trades, trade_journal_rows
from cvntrade.journal.records import Trade
from cvntrade.trading.flags import TradingFlags, read_flags
from cvntrade.trading.metrics import EngineMetrics
from cvntrade.trading.persistence import (
    PredictionRow,
    StatusRow,
    asdict_slots,
    checkpoints,
    insert_ignoring_duplicates,
    write_block,
)


class Sink(Protocol):
    """The write target of an engine (see the module docstring)."""

    def write(
        self,
        trades: Sequence[Trade],
        predictions: Sequence[PredictionRow],
        status: Sequence[StatusRow],
    ) -> tuple[int, int]:
        """Commit one block atomically; returns (trades, predictions) actually inserted."""
        ...

    def checkpoints(self, engine_id: str) -> dict[str, StatusRow]:
        """The checkpoint to resume from per symbol (empty: start flat)."""
        ...

    def flags(self) -> TradingFlags:
        """The operator switches this engine obeys."""
        ...


@dataclass(frozen=True, slots=True)
class ProductionSink:
    """Production tables: trade_journal, predictions, engine_status (heartbeat + checkpoint)."""

    db: Engine
    metrics: EngineMetrics | None = None

    def write(
        self,
        trades: Sequence[Trade],
        predictions: Sequence[PredictionRow],
        status: Sequence[StatusRow],
    ) -> tuple[int, int]:
        """One transaction with trades, predictions and heartbeats; metrics after the commit."""
        counts = write_block(self.db, trades, predictions, status)
        if self.metrics is not None:
            self.metrics.record_flush(status, trades)
        return counts

    def checkpoints(self, engine_id: str) -> dict[str, StatusRow]:
        """This engine id's last committed checkpoints (crash-safe resume)."""
        return checkpoints(self.db, engine_id)

    def flags(self) -> TradingFlags:
        """The kill switch and halt, as stored (and published as metrics)."""
        flags = read_flags(self.db)
        if self.metrics is not None:
            self.metrics.record_flags(flags)
        return flags


def drill_trade_id(run_id: int, trade_id: str) -> str:
    """The `trade_journal` id of a backtest trade written with `--into-journal`."""
    return f"bt{run_id}:{trade_id}"


@dataclass(frozen=True, slots=True)
class BacktestSink:
    """One backtest run's tables (and, with `into_journal`, drill-labelled journal rows)."""

    db: Engine
    run_id: int
    into_journal: bool = False

    def write(
        self,
        trades: Sequence[Trade],
        predictions: Sequence[PredictionRow],
        status: Sequence[StatusRow],
    ) -> tuple[int, int]:
        """Trades and predictions of the run in one transaction; heartbeats are dropped."""
        del status  # a backtest serves nothing: it never appears in engine_status
        trade_rows = [
            {**{k: v for k, v in t.as_row().items() if k != "source"}, "run_id": self.run_id}
            for t in trades
        ]
        prediction_rows = [{**asdict_slots(p), "run_id": self.run_id} for p in predictions]
        with write_transaction(self.db) as conn:
            written_trades = insert_ignoring_duplicates(
                conn, backtest_trades, trade_rows, ["run_id", "trade_id"]
            )
            written_predictions = insert_ignoring_duplicates(
                conn,
                backtest_predictions,
                prediction_rows,
                ["run_id", "crypto_symbol", "strategy", "bar_time"],
            )
            if self.into_journal and trades:
                journal_rows = [
                    {
                        **t.as_row(),
                        "trade_id": drill_trade_id(self.run_id, t.trade_id),
                        "source": "drill",
                    }
                    for t in trades
                ]
                insert_ignoring_duplicates(conn, trade_journal_rows, journal_rows, ["trade_id"])
        return written_trades, written_predictions

    def checkpoints(self, engine_id: str) -> dict[str, StatusRow]:
        """None: a backtest run is never resumed (a new run has a new id)."""
        del engine_id
        return {}

    def flags(self) -> TradingFlags:
        """All off: the production kill switch and halt govern trading, not a backtest."""
        return TradingFlags()
