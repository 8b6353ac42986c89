"""Real Prometheus and Alertmanager on loopback for end-to-end tests, plus a webhook receiver.

Usage (see test_prometheus_alertmanager_e2e.py):

    with (
        WebhookReceiver() as hook,
        start_alertmanager(tmp / "am", webhook_url=hook.url) as am,
        start_prometheus(
            tmp / "prom",
            scrape={"cvntrade_monitor": "127.0.0.1:9108"},
            alertmanager=am.address,
            for_overrides={"expectancy_negative_focal": "2s"},
        ) as prom,
    ):
        alert = wait_for(lambda: firing_alert(prom.url, "expectancy_negative_focal"), "fires")

The configs are the real ones from infra/ with only what a test must change: loopback ports of
its own, 1 s scrape/evaluation/grouping and, optionally, shorter `for:` values. Every wait
polls observable state with a bounded deadline (generous: the machine is shared); nothing sleeps
for a fixed time to let something happen.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import yaml
from infra_support import INFRA, RULES_FILE, require_tool

T = TypeVar("T")
DEADLINE_S = 180.0
POLL_S = 0.2


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(probe: Callable[[], T | None], what: str, deadline_s: float = DEADLINE_S) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline_s:.0f} s waiting for: {what}")
        time.sleep(POLL_S)  # polling interval, not synchronisation


def get_json(url: str) -> Any:
    """GET `url` and decode its JSON body; None while the server does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@dataclass(frozen=True, slots=True)
class Server:
    """A running server: its base URL, `host:port` and log file."""

    url: str
    address: str
    log: Path


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextlib.contextmanager
def _serve(command: list[str], port: int, log: Path) -> Iterator[Server]:
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:

            def ready() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"{command[0]} exited: {log.read_text()[-2000:]}")
                return _ready(url)

            wait_for(ready, f"{command[0]} ready on {url}")
            yield Server(url, f"127.0.0.1:{port}", log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def rules_with_for(path: Path, for_overrides: Mapping[str, str]) -> dict[str, Any]:
    """The rule file at `path` with the `for:` of the named alerts replaced."""
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    seen = set()
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") in for_overrides:
                rule["for"] = for_overrides[rule["alert"]]
                seen.add(rule["alert"])
    missing = set(for_overrides) - seen
    if missing:
        raise ValueError(f"no such alerts in {path.name}: {sorted(missing)}")
    return document


@contextlib.contextmanager
def start_prometheus(
    workdir: Path,
    *,
    scrape: Mapping[str, str],
    alertmanager: str | None = None,
    for_overrides: Mapping[str, str] | None = None,
    interval: str = "1s",
) -> Iterator[Server]:
    """Prometheus on infra/prometheus/prometheus.yml and our rules; `scrape` = {job: host:port}."""
    binary = require_tool("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    rules = workdir / RULES_FILE.name
    rules.write_text(yaml.safe_dump(rules_with_for(RULES_FILE, for_overrides or {})))
    config: dict[str, Any] = yaml.safe_load((INFRA / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    config["rule_files"] = [str(rules)]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    unknown = set(scrape) - set(jobs)
    if unknown:
        raise ValueError(f"jobs not in prometheus.yml: {sorted(unknown)}")
    config["scrape_configs"] = [
        {**jobs[name], "static_configs": [{"targets": [target]}]} for name, target in scrape.items()
    ]
    if alertmanager is None:
        config.pop("alerting", None)
    else:
        config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [
        binary,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--rules.alert.resend-delay=1s",
    ]
    with _serve(command, port, workdir / "prometheus.log") as server:
        yield server


@contextlib.contextmanager
def start_alertmanager(
    workdir: Path, *, webhook_url: str, repeat_interval: str | None = None
) -> Iterator[Server]:
    """Alertmanager with infra/alertmanager/alertmanager.yml, posting to `webhook_url`.

    Grouping waits shrink to 1 s; routes, receivers and inhibitions stay as written.
    `repeat_interval` (e.g. "2s") overrides every route's, so a test sees re-deliveries.
    """
    binary = require_tool("prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = yaml.safe_load(
        (INFRA / "alertmanager" / "alertmanager.yml").read_text()
    )
    for route in [config["route"], *config["route"].get("routes", [])]:
        route.update({key: "1s" for key in ("group_wait", "group_interval") if key in route})
    config["route"].update(group_wait="1s", group_interval="1s")
    if repeat_interval is not None:
        for route in [config["route"], *config["route"].get("routes", [])]:
            route["repeat_interval"] = repeat_interval
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            webhook["url"] = webhook_url
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [
        binary,
        f"--config.file={workdir / 'alertmanager.yml'}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=debug",
    ]
    with _serve(command, port, workdir / "alertmanager.log") as server:
        yield server


def prometheus_alerts(url: str, name: str) -> list[dict[str, Any]]:
    """Alerts named `name` in Prometheus' /api/v1/alerts (any state)."""
    body = get_json(f"{url}/api/v1/alerts")
    alerts = body["data"]["alerts"] if body else []
    return [alert for alert in alerts if alert["labels"].get("alertname") == name]


def firing_alert(url: str, name: str) -> dict[str, Any] | None:
    """The firing alert `name` in Prometheus, or None."""
    firing = [alert for alert in prometheus_alerts(url, name) if alert["state"] == "firing"]
    return firing[0] if firing else None


def alertmanager_alerts(url: str, name: str) -> list[dict[str, Any]]:
    """Alerts named `name` Alertmanager holds (/api/v2/alerts, inhibited ones included)."""
    body = get_json(f"{url}/api/v2/alerts")
    return [alert for alert in body or [] if alert["labels"].get("alertname") == name]


def instant_query(url: str, expr: str) -> list[dict[str, Any]] | None:
    """Result vector of an instant PromQL query, None until Prometheus answers."""
    query = urllib.parse.urlencode({"query": expr})
    body = get_json(f"{url}/api/v1/query?{query}")
    return body["data"]["result"] if body and body.get("status") == "success" else None


def last_rule_evaluation(url: str) -> float | None:
    """Seconds since the epoch of the oldest last evaluation among our rule groups."""
    body = get_json(f"{url}/api/v1/rules")
    if not body or not body["data"]["groups"]:
        return None
    stamps = [
        datetime.fromisoformat(group["lastEvaluation"].replace("Z", "+00:00")).timestamp()
        for group in body["data"]["groups"]
    ]
    return min(stamps)


class WebhookReceiver:
    """An HTTP server on loopback recording every JSON POST (Alertmanager's webhook payloads)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length))
                with receiver._lock:
                    receiver.posts.append({"path": self.path, "payload": payload})
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/alertmanager"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=30)

    def notifications(self, name: str, status: str) -> list[dict[str, Any]]:
        """Alerts named `name` with `status` (firing/resolved) received so far, in order."""
        with self._lock:
            posts = list(self.posts)
        return [
            alert
            for post in posts
            for alert in post["payload"]["alerts"]
            if alert["labels"].get("alertname") == name and alert["status"] == status
        ]
