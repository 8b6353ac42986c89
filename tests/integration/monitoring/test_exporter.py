"""The exporter: catalogue names only, a scrape during a recomputation serves the last snapshot."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import threading
import urllib.request

from monitoring_support import heartbeat
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from cvntrade.config import set_config
from cvntrade.drill import run_journal_drill
from cvntrade.monitoring.exporter import MonitorService, SnapshotCollector
from cvntrade.monitoring.names import ENGINE_METRICS, MONITORING_METRICS
from cvntrade.monitoring.snapshot import MonitorSnapshot, compute_snapshot
from cvntrade.trading.metrics import EngineMetrics


def _snapshot(engine: Engine) -> MonitorSnapshot:
    return compute_snapshot(
        engine,
        now=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        references=lambda name, version: None,
        bars=lambda symbol, a, b: None,
    )


def _families(text: str) -> dict[str, set[tuple[str, ...]]]:
    out: dict[str, set[tuple[str, ...]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, set()).add(tuple(sorted(sample.labels)))
    return out


def test_exposed_names_and_labels_are_exactly_the_catalogue(engine: Engine) -> None:
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="t", actor="t")
    run_journal_drill(engine, "focal-regression", actor="drill")
    registry = CollectorRegistry()
    collector = SnapshotCollector()
    registry.register(collector)
    from prometheus_client import generate_latest

    assert set(_families(generate_latest(registry).decode())) == set()  # nothing before a snapshot
    collector.publish(_snapshot(engine))
    exposed = _families(generate_latest(registry).decode())
    catalogue = {s.name: tuple(sorted(s.labels)) for s in MONITORING_METRICS}
    for name, label_sets in exposed.items():
        assert name in catalogue, name
        assert label_sets == {catalogue[name]}, name
    # no reference/bars in this test: PSI, sharpness and ECE families are empty; no rollback:
    # the recovery gauges are absent
    assert set(exposed) == set(catalogue) - {
        "cvntrade_feature_psi",
        "cvntrade_output_sharpness",
        "cvntrade_ece_hold",
        "cvntrade_rollback_last_timestamp_seconds",
        "cvntrade_rollback_recovery_trades",
        "cvntrade_rollback_recovery_expectancy",
    }
    engine_metrics = EngineMetrics()
    engine_metrics.kill_switch.set(0)
    names = {f.name for f in engine_metrics.registry.collect()}
    assert {s.name.removesuffix("_total") for s in ENGINE_METRICS} == names


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_scrape_during_a_recomputation_serves_the_last_snapshot(engine: Engine) -> None:
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="t", actor="t")
    heartbeat(engine, "BTCUSDC", "focal", at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    run_journal_drill(engine, "focal-regression", actor="drill")
    first = _snapshot(engine)
    second_started, release = threading.Event(), threading.Event()
    calls = []

    def compute() -> MonitorSnapshot:
        calls.append(1)
        if len(calls) == 1:
            return first
        second_started.set()
        release.wait()
        return dataclasses.replace(first, at=first.at + dt.timedelta(hours=1))

    port = _free_port()
    service = MonitorService(compute, interval_s=0.0)
    service.start(port)
    try:
        assert second_started.wait(timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            text = r.read().decode()
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }
        epoch = dt.datetime(1970, 1, 1)
        stamp = samples[("cvntrade_monitor_last_success_timestamp_seconds", ())]
        assert stamp == (first.at - epoch).total_seconds()
        assert samples[("cvntrade_focal_loss_active", (("source", "any"),))] == 1.0
        assert samples[("cvntrade_focal_loss_active", (("source", "champion"),))] == 1.0
        key = (
            "cvntrade_expectancy_net_realized",
            (("crypto_symbol", "BTCUSDC"), ("model_loss_function", "focal"), ("window", "48h")),
        )
        assert samples[key] < 0
    finally:
        release.set()
        service.stop()
