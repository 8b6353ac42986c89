"""End to end, all real: OUR exporter → Prometheus → Alertmanager → OUR webhook receiver.

`cvntrade monitor serve` (exporter) and `cvntrade alerts receive` (webhook receiver) run as
subprocesses on a database prepared with `cvntrade config set` and `cvntrade drill journal
--into-database`; Prometheus (rules from infra/, `for:` 2 s) scrapes the exporter and
Alertmanager (infra/ config, 1 s grouping, 2 s repeat so re-deliveries happen) posts to the
receiver. `single-symbol` and `healthy` raise nothing after `for:`; `focal-regression` fires in
Prometheus, reaches the receiver several times and opens exactly one incident; `healthy` again
resolves it and the resolution is noted. Waits poll observable state with generous deadlines.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prom_servers import (
    Server,
    firing_alert,
    free_port,
    instant_query,
    last_rule_evaluation,
    prometheus_alerts,
    start_alertmanager,
    start_prometheus,
    wait_for,
)
from sqlalchemy import Engine

from cvntrade.monitoring.evaluator import AlertEvent, list_events
from cvntrade.runbook import incident_timeline, list_incidents

PAGE = "expectancy_negative_focal"
FOR_S = 2
CLI = [sys.executable, "-m", "cvntrade.cli.main"]


def _cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def _process(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as sink:
        process = subprocess.Popen([*CLI, *args], env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(url: str, log: Path, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"{log.name}: exited: {log.read_text()[-2000:]}")
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # the receiver answers GET with an error: it is listening
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _no_page_after_for(prom: Server, negative: int) -> None:
    """Wait until Prometheus sees `negative` symbols, then until `for:` passed in its rules."""
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


def _webhook_deliveries(am: Server) -> float:
    """Alertmanager's own count of webhook notifications sent (its /metrics)."""
    with urllib.request.urlopen(f"{am.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(
        r'^alertmanager_notifications_total\{integration="webhook"\} (\S+)$', text, re.M
    )
    return float(match.group(1)) if match else 0.0


def _received(engine: Engine, state: str) -> list[AlertEvent]:
    return [
        e
        for e in list_events(engine, limit=200)
        if e.alert == PAGE and e.state == state and e.labels.get("source") == "alertmanager"
    ]


@pytest.mark.slow
def test_our_exporter_pages_through_alertmanager_into_one_incident(
    engine: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = cli_env
    _cli(env, "config", "set", "CVN_LOSS_FUNCTION=focal", "--reason", "focal promoted")
    _cli(env, "drill", "journal", "--scenario", "single-symbol", "--into-database")
    monitor_port, receiver_port = free_port(), free_port()
    monitor_args = ["monitor", "serve", "--port", str(monitor_port), "--interval", "0.5"]
    # The built-in evaluator stays pending (--for 1h): every incident here comes via Alertmanager.
    monitor_args += ["--eval-interval", "0.5", "--for", "1h"]
    receiver_url = f"http://127.0.0.1:{receiver_port}/alertmanager"
    with (
        _process(env, tmp_path / "monitor.log", *monitor_args) as monitor,
        _process(
            env, tmp_path / "receiver.log", "alerts", "receive", "--port", str(receiver_port)
        ) as receiver,
    ):
        metrics = f"http://127.0.0.1:{monitor_port}/metrics"
        wait_for(lambda: _answers(metrics, tmp_path / "monitor.log", monitor), "exporter up")
        wait_for(lambda: _answers(receiver_url, tmp_path / "receiver.log", receiver), "receiver up")
        with (
            start_alertmanager(
                tmp_path / "alertmanager", webhook_url=receiver_url, repeat_interval="2s"
            ) as am,
            start_prometheus(
                tmp_path / "prometheus",
                scrape={"cvntrade_monitor": f"127.0.0.1:{monitor_port}"},
                alertmanager=am.address,
                for_overrides={PAGE: f"{FOR_S}s"},
            ) as prom,
        ):
            _no_page_after_for(prom, negative=1)
            _cli(env, "drill", "journal", "--scenario", "healthy", "--into-database")
            _no_page_after_for(prom, negative=0)
            assert list_incidents(engine) == []

            _cli(env, "drill", "journal", "--scenario", "focal-regression", "--into-database")
            alert = wait_for(lambda: firing_alert(prom.url, PAGE), "page firing in Prometheus")
            assert alert["labels"]["severity"] == "P1"
            [firing] = wait_for(lambda: _received(engine, "firing"), "page received")
            assert firing.incident_id is not None
            sent_then = _webhook_deliveries(am)
            # Alertmanager re-sends the firing page (repeat 2 s): more deliveries, same incident.
            wait_for(
                lambda: _webhook_deliveries(am) >= sent_then + 2, "two more webhook deliveries"
            )
            assert len(_received(engine, "firing")) == 1
            [incident] = list_incidents(engine, alert=PAGE)
            assert (incident.id, incident.severity) == (firing.incident_id, "P1")

            _cli(env, "drill", "journal", "--scenario", "healthy", "--into-database")
            [resolved] = wait_for(lambda: _received(engine, "resolved"), "resolution received")
            assert resolved.incident_id == incident.id
            assert resolved.fingerprint == firing.fingerprint

    kinds = [e.kind for e in incident_timeline(engine, incident.id).entries]
    assert kinds.count("alert.firing") == 1 and kinds.count("alert.resolved") == 1
    assert len(list_incidents(engine, alert=PAGE)) == 1
