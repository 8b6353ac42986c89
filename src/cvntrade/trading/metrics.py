"""Prometheus metrics of the trading engine (prefix `cvntrade_`, names from DESIGN.md).

They live in the process-wide `prometheus_client` registry; `cvntrade trade live
--metrics-port N` serves them on 127.0.0.1:N for Prometheus to scrape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from prometheus_client import Counter, Gauge, start_http_server

from cvntrade.journal.records import Trade
from cvntrade.trading.flags import TradingFlags
from cvntrade.trading.persistence import StatusRow

EPOCH = dt.datetime(1970, 1, 1)
CHAMPION_VERSION = Gauge(
    "cvntrade_champion_version",
    "Champion version the engine serves, per model",
    ["model_name", "loss_function"],
)
CHAMPION_STALE = Gauge(
    "cvntrade_champion_stale",
    "1 when the engine serves its last good model because the registry is unreachable",
    ["crypto_symbol"],
)
HEARTBEAT = Gauge(
    "cvntrade_engine_heartbeat_timestamp_seconds",
    "Time of the engine's last committed heartbeat (UTC, seconds since the epoch)",
    ["engine_id", "crypto_symbol"],
)
TRADES = Counter(
    "cvntrade_trades_total",
    "Closed trades written to trade_journal",
    ["crypto_symbol", "model_loss_function"],
)
KILL_SWITCH = Gauge("cvntrade_kill_switch_active", "1 while the portfolio kill switch is on")
HALT = Gauge("cvntrade_halt_active", "1 while the ADR-71 system-wide halt is on")


def record_flush(status: Sequence[StatusRow], trades: Sequence[Trade]) -> None:
    """Publish what one engine commit wrote: heartbeats, served champions, closed trades."""
    for row in status:
        if row.model_version is not None:
            CHAMPION_VERSION.labels(row.model_name, row.model_loss_function or "").set(
                row.model_version
            )
        CHAMPION_STALE.labels(row.crypto_symbol).set(1 if row.stale else 0)
        HEARTBEAT.labels(row.engine_id, row.crypto_symbol).set(
            (row.heartbeat_at - EPOCH).total_seconds()
        )
    for trade in trades:
        TRADES.labels(trade.crypto_symbol, trade.model_loss_function).inc()


def record_flags(flags: TradingFlags) -> None:
    """Publish the kill switch and halt states."""
    KILL_SWITCH.set(1 if flags.kill_switch else 0)
    HALT.set(1 if flags.halt else 0)


def serve(port: int) -> None:
    """Serve `/metrics` on 127.0.0.1:`port` from a background thread."""
    start_http_server(port, addr="127.0.0.1")
