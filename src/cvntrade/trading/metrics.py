"""Prometheus metrics of the trading engine (prefix `cvntrade_`, names from
`cvntrade.monitoring.names.ENGINE_METRICS`).

`EngineMetrics` registers them on an injected `CollectorRegistry` (no process-wide globals, so
two engines or a test never share counters); `cvntrade trade live --metrics-port N` creates one
and serves it on 127.0.0.1:N for Prometheus to scrape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from cvntrade.journal.records import Trade
from cvntrade.monitoring.names import ENGINE_METRICS, MetricSpec
from cvntrade.trading.flags import TradingFlags
from cvntrade.trading.persistence import StatusRow

EPOCH = dt.datetime(1970, 1, 1)


def build_metric(spec: MetricSpec, registry: CollectorRegistry) -> Any:
    """A prometheus_client Gauge/Counter for `spec`, registered on `registry`."""
    kind = Gauge if spec.kind == "gauge" else Counter
    return kind(spec.name, spec.help, list(spec.labels), registry=registry)


class EngineMetrics:
    """The engine's gauges and counters on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        built = {spec.name: build_metric(spec, self.registry) for spec in ENGINE_METRICS}
        self.champion_version = built["cvntrade_champion_version"]
        self.champion_stale = built["cvntrade_champion_stale"]
        self.heartbeat = built["cvntrade_engine_heartbeat_timestamp_seconds"]
        self.trades = built["cvntrade_trades_total"]
        self.kill_switch = built["cvntrade_kill_switch_active"]
        self.halt = built["cvntrade_halt_active"]

    def record_flush(self, status: Sequence[StatusRow], trades: Sequence[Trade]) -> None:
        """Publish what one engine commit wrote: heartbeats, served champions, closed trades."""
        for row in status:
            if row.model_version is not None:
                self.champion_version.labels(row.model_name, row.model_loss_function or "").set(
                    row.model_version
                )
            self.champion_stale.labels(row.crypto_symbol).set(1 if row.stale else 0)
            self.heartbeat.labels(row.engine_id, row.crypto_symbol).set(
                (row.heartbeat_at - EPOCH).total_seconds()
            )
        for trade in trades:
            self.trades.labels(trade.crypto_symbol, trade.model_loss_function).inc()

    def record_flags(self, flags: TradingFlags) -> None:
        """Publish the kill switch and halt states."""
        self.kill_switch.set(1 if flags.kill_switch else 0)
        self.halt.set(1 if flags.halt else 0)

    def serve(self, port: int) -> None:
        """Serve this registry's `/metrics` on 127.0.0.1:`port` from a background thread."""
        start_http_server(port, addr="127.0.0.1", registry=self.registry)
