"""The Prometheus exporter: the last snapshot as metric families, on an injected registry.

`SnapshotCollector` is registered on a `CollectorRegistry` the caller owns (no module-level
globals). A scrape only reads the reference to the last published snapshot — swapping a
reference is atomic in Python — so it never waits for a recomputation, which runs in
`MonitorService`'s background thread. Every family comes from `monitoring.names`, the
catalogue the Prometheus rules and Grafana dashboards are checked against.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cvntrade.monitoring.names import MONITORING_METRICS, MetricSpec
from cvntrade.monitoring.snapshot import MonitorSnapshot

log = logging.getLogger(__name__)
SPECS = {spec.name: spec for spec in MONITORING_METRICS}
EPOCH = dt.datetime(1970, 1, 1)
Family = GaugeMetricFamily | CounterMetricFamily


def _family(name: str) -> GaugeMetricFamily:
    spec: MetricSpec = SPECS[name]
    return GaugeMetricFamily(spec.name, spec.help, labels=list(spec.labels))


def metric_families(snapshot: MonitorSnapshot | None) -> list[GaugeMetricFamily]:
    """The monitoring metric families of a snapshot (empty families before the first one)."""
    fam = {name: _family(name) for name in SPECS}
    if snapshot is None:
        return list(fam.values())
    for w in snapshot.expectancy:
        labels = [w.crypto_symbol, w.window, w.model_loss_function]
        fam["cvntrade_expectancy_net_realized"].add_metric(labels, w.stats.mean)
        fam["cvntrade_expectancy_trades"].add_metric(labels, float(w.stats.n_trades))
    focal = snapshot.focal
    for source, on in (
        ("config", focal.config),
        ("champion", focal.champion),
        ("any", focal.active),
    ):
        fam["cvntrade_focal_loss_active"].add_metric([source], float(on))
    for d in snapshot.drift:
        for feature, value in sorted(d.psi.items()):
            if not math.isnan(value):
                fam["cvntrade_feature_psi"].add_metric([d.crypto_symbol, feature], value)
        for window, value in (("recent", d.sharpness_recent), ("training", d.sharpness_training)):
            if not math.isnan(value):
                fam["cvntrade_output_sharpness"].add_metric([d.crypto_symbol, window], value)
        for window, value in (("live", d.ece_live), ("training", d.ece_training)):
            if not math.isnan(value):
                fam["cvntrade_ece_hold"].add_metric([d.crypto_symbol, window], value)
    recovery = snapshot.recovery
    if recovery is not None and recovery.rollback is not None:
        fam["cvntrade_rollback_last_timestamp_seconds"].add_metric(
            [], (recovery.rollback.at - EPOCH).total_seconds()
        )
        fam["cvntrade_rollback_recovery_trades"].add_metric([], float(recovery.n_trades))
        if recovery.expectancy_pct is not None:
            fam["cvntrade_rollback_recovery_expectancy"].add_metric([], recovery.expectancy_pct)
    fam["cvntrade_monitor_last_success_timestamp_seconds"].add_metric(
        [], (snapshot.at - EPOCH).total_seconds()
    )
    return list(fam.values())


class SnapshotCollector(Collector):
    """Serves whatever snapshot was last published; publishing is one reference swap."""

    def __init__(self) -> None:
        self._snapshot: MonitorSnapshot | None = None

    def publish(self, snapshot: MonitorSnapshot) -> None:
        """Make `snapshot` what the next scrape sees."""
        self._snapshot = snapshot

    @property
    def snapshot(self) -> MonitorSnapshot | None:
        """The snapshot being served (None before the first recomputation)."""
        return self._snapshot

    def collect(self) -> Iterator[Any]:
        """Called by prometheus_client on every scrape."""
        yield from metric_families(self._snapshot)


class MonitorService:
    """`monitor serve`: a registry with the collector, an HTTP server and two loops.

    The recomputation loop runs `compute` (a full snapshot, may take seconds) every
    `interval_s`; the evaluation loop runs `evaluate` (the alert rule alone: one small indexed
    query, so a page does not wait for PSI or ECE) every `evaluate_interval_s`. Both wait on
    an `Event`, so `stop()` ends them at once.
    """

    def __init__(
        self,
        compute: Callable[[], MonitorSnapshot],
        *,
        interval_s: float,
        evaluate: Callable[[], object] | None = None,
        evaluate_interval_s: float | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.collector = SnapshotCollector()
        self.registry.register(self.collector)
        self.compute = compute
        self.interval_s = interval_s
        self.evaluate = evaluate
        self.evaluate_interval_s = (
            interval_s if evaluate_interval_s is None else evaluate_interval_s
        )
        self.recomputed = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: Any = None
        self.errors = 0

    def recompute_once(self) -> MonitorSnapshot | None:
        """One recomputation; errors are logged and counted, the old snapshot stays served."""
        try:
            snapshot = self.compute()
        except Exception:
            self.errors += 1
            log.exception("monitoring recomputation failed; serving the previous snapshot")
            return None
        self.collector.publish(snapshot)
        self.recomputed.set()
        return snapshot

    def evaluate_once(self) -> None:
        """One evaluation of the alert; errors are logged and counted."""
        if self.evaluate is None:
            return
        try:
            self.evaluate()
        except Exception:
            self.errors += 1
            log.exception("alert evaluation failed")

    def _loop(self, action: Callable[[], object], every_s: float, wait_first: bool) -> None:
        if wait_first:
            self._stop.wait(every_s)
        while not self._stop.is_set():
            action()
            self._stop.wait(every_s)

    def start(self, port: int | None = None, addr: str = "127.0.0.1") -> None:
        """Compute the first snapshot, then start the loops and, with a port, the `/metrics`
        HTTP server (so the first scrape and the first evaluation already see signals)."""
        self.recompute_once()
        if port is not None:
            self._server, _ = start_http_server(port, addr=addr, registry=self.registry)
        loops: list[tuple[str, Callable[[], object], float, bool]] = [
            ("cvntrade-monitor", self.recompute_once, self.interval_s, True)
        ]
        if self.evaluate is not None:
            loops.append(
                ("cvntrade-evaluator", self.evaluate_once, self.evaluate_interval_s, False)
            )
        for name, action, every, wait_first in loops:
            thread = threading.Thread(
                target=self._loop, args=(action, every, wait_first), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the loops and the HTTP server."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait(self) -> None:
        """Block until `stop()` (the CLI's foreground)."""
        self._stop.wait()
