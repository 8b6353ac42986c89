"""End to end with the real servers: Prometheus scrapes an exporter, pages, Alertmanager posts.

The exporter here is a `prometheus_client` registry built from the metric catalogue
(src/cvntrade/monitoring/names.py) and set to rows of the shared scenario table; the rules and
the Alertmanager config are the real ones from infra/, with `for:` shortened to 2 s and
Alertmanager's grouping waits to 1 s. Waits poll observable state with generous deadlines.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from infra_support import AlertScenario, load_scenarios
from prom_servers import (
    Server,
    WebhookReceiver,
    alertmanager_alerts,
    firing_alert,
    instant_query,
    last_rule_evaluation,
    prometheus_alerts,
    start_alertmanager,
    start_prometheus,
    wait_for,
)
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from cvntrade.monitoring.names import ENGINE_METRICS, MONITORING_METRICS, MetricSpec

PAGE = "expectancy_negative_focal"
FOR_S = 2
SCENARIOS = {scenario.name: scenario for scenario in load_scenarios()}


class CatalogueExporter:
    """A /metrics endpoint on loopback exposing catalogue metrics at values the test sets."""

    def __init__(self, specs: tuple[MetricSpec, ...]) -> None:
        self.registry = CollectorRegistry()
        self.metrics: dict[str, Gauge | Counter] = {}
        for spec in specs:
            kind = Counter if spec.kind == "counter" else Gauge
            name = spec.name.removesuffix("_total") if kind is Counter else spec.name
            self.metrics[spec.name] = kind(name, spec.help, spec.labels, registry=self.registry)
        self._server, self._thread = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self.address = f"127.0.0.1:{self._server.server_port}"

    def gauge(self, name: str) -> Gauge:
        """The gauge `name` of the catalogue."""
        metric = self.metrics[name]
        assert isinstance(metric, Gauge)
        return metric

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


class MonitorExporter(CatalogueExporter):
    """The monitoring signals, set from a row of alert_scenarios.yaml."""

    def __init__(self) -> None:
        super().__init__(MONITORING_METRICS)

    def show(self, scenario: AlertScenario) -> None:
        """Expose `scenario`'s 48 h focal expectancies and focal state (and a fresh timestamp)."""
        expectancy = self.gauge("cvntrade_expectancy_net_realized")
        trades = self.gauge("cvntrade_expectancy_trades")
        expectancy.clear()
        trades.clear()
        for symbol, value in scenario.expectancy_48h.items():
            expectancy.labels(symbol, "48h", "focal").set(value)
            trades.labels(symbol, "48h", "focal").set(9)
        self.gauge("cvntrade_focal_loss_active").labels("any").set(scenario.focal_loss_active)
        self.gauge("cvntrade_monitor_last_success_timestamp_seconds").set(time.time())


@pytest.fixture
def monitor() -> Iterator[MonitorExporter]:
    exporter = MonitorExporter()
    yield exporter
    exporter.close()


@pytest.fixture
def engine_metrics() -> Iterator[CatalogueExporter]:
    exporter = CatalogueExporter(ENGINE_METRICS)
    exporter.gauge("cvntrade_halt_active").set(0)
    yield exporter
    exporter.close()


@contextlib.contextmanager
def _stack(
    tmp_path: Path, monitor: MonitorExporter, engine: CatalogueExporter
) -> Iterator[tuple[WebhookReceiver, Server, Server]]:
    """Webhook receiver, Alertmanager posting to it, Prometheus scraping both exporters."""
    with (
        WebhookReceiver() as hook,
        start_alertmanager(tmp_path / "alertmanager", webhook_url=hook.url) as am,
        start_prometheus(
            tmp_path / "prometheus",
            scrape={"cvntrade_monitor": monitor.address, "cvntrade_engine": engine.address},
            alertmanager=am.address,
            for_overrides={PAGE: f"{FOR_S}s"},
        ) as prom,
    ):
        yield hook, am, prom


def _page_not_raised_after_for(prom: Server, negative: int) -> None:
    """Wait until Prometheus sees `negative` symbols, then until `for:` has passed in its rules."""
    count = "cvntrade:expectancy_negative_focal_48h:count"
    wait_for(
        lambda: (
            (result := instant_query(prom.url, count)) and float(result[0]["value"][1]) == negative
        ),
        f"{count} == {negative}",
    )
    seen_at = time.time()
    wait_for(
        lambda: (stamp := last_rule_evaluation(prom.url)) and stamp > seen_at + FOR_S + 2,
        f"rules evaluated {FOR_S + 2} s after the data arrived",
    )
    assert prometheus_alerts(prom.url, PAGE) == []


def _flushed_while_inhibited(am: Server) -> bool:
    """True once the page's group was flushed twice (so the first flush's pipeline finished)."""
    lines = am.log.read_text().splitlines()
    flushes = [
        line
        for line in lines
        if "msg=flushing" in line and f'alertname=\\"{PAGE}\\"' in line and "[active]" in line
    ]
    return len(flushes) >= 2


@pytest.mark.slow
def test_page_fires_in_prometheus_reaches_the_webhook_once_and_resolves(
    tmp_path: Path, monitor: MonitorExporter, engine_metrics: CatalogueExporter
) -> None:
    monitor.show(SCENARIOS["single-symbol"])
    with _stack(tmp_path, monitor, engine_metrics) as (hook, _am, prom):
        _page_not_raised_after_for(prom, negative=1)

        monitor.show(SCENARIOS["focal-regression"])
        alert = wait_for(lambda: firing_alert(prom.url, PAGE), "page firing in Prometheus")
        assert alert["labels"]["severity"] == "P1"
        description = alert["annotations"]["description"]
        for symbol, value in SCENARIOS["focal-regression"].expectancy_48h.items():
            assert (f"{symbol} {value:.3f} %" in description) == (value < 0), description

        (posted,) = wait_for(
            lambda: hook.notifications(PAGE, "firing"), "page posted to the webhook"
        )
        assert posted["labels"]["severity"] == "P1"
        assert posted["annotations"]["runbook_url"] == (
            "docs/runbooks/expectancy_negative_focal.md"
        )

        monitor.show(SCENARIOS["healthy"])
        (resolved,) = wait_for(
            lambda: hook.notifications(PAGE, "resolved"), "resolution posted to the webhook"
        )
        assert resolved["fingerprint"] == posted["fingerprint"]
        assert len(hook.notifications(PAGE, "firing")) == 1


@pytest.mark.slow
def test_halt_inhibits_the_page_until_it_is_lifted(
    tmp_path: Path, monitor: MonitorExporter, engine_metrics: CatalogueExporter
) -> None:
    monitor.show(SCENARIOS["focal-regression"])
    engine_metrics.gauge("cvntrade_halt_active").set(1)
    with _stack(tmp_path, monitor, engine_metrics) as (hook, am, _prom):
        wait_for(lambda: hook.notifications("trading_halted", "firing"), "halt posted")
        suppressed = wait_for(
            lambda: [
                alert
                for alert in alertmanager_alerts(am.url, PAGE)
                if alert["status"]["state"] == "suppressed" and alert["status"]["inhibitedBy"]
            ],
            "page held by Alertmanager and inhibited",
        )
        assert suppressed[0]["labels"]["category"] == "expectancy"
        # Alertmanager (debug log) flushed the page's group while the halt was on: the
        # inhibition, not timing, is why nothing reached the webhook.
        wait_for(
            lambda: _flushed_while_inhibited(am),
            "Alertmanager flushing the page's group while inhibited",
        )
        assert hook.notifications(PAGE, "firing") == []

        engine_metrics.gauge("cvntrade_halt_active").set(0)
        wait_for(lambda: hook.notifications(PAGE, "firing"), "page posted once the halt lifts")
