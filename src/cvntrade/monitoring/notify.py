"""Notifiers of the built-in evaluator: a log line and a webhook (JSON POST).

`WebhookNotifier.notify` only puts the message on a queue; a background thread POSTs it and
retries failures with exponential back-off (`base_delay_s · 2^k`, at most `max_attempts`
tries), so a slow or dead receiver never blocks an evaluation. The payload is close to an
Alertmanager webhook message: `status`, `alert`, `fingerprint`, `labels`, `annotations`
(summary, runbook), `values`, `at`, `event_id`.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)
RUNBOOK_URL = "docs/monitoring.md#runbook-expectancy_negative_focal"


@dataclass(frozen=True, slots=True)
class Notification:
    """One message about an alert transition (firing, re-notification or resolved)."""

    status: str
    alert: str
    fingerprint: str
    event_id: int
    at: str
    summary: str
    labels: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The JSON body the webhook receives."""
        return {
            "status": self.status,
            "alert": self.alert,
            "fingerprint": self.fingerprint,
            "event_id": self.event_id,
            "at": self.at,
            "labels": {"alertname": self.alert, **self.labels},
            "annotations": {"summary": self.summary, "runbook": RUNBOOK_URL},
            "values": dict(self.values),
        }


class Notifier(Protocol):
    """Anything that can be told about an alert transition without blocking."""

    def notify(self, message: Notification) -> None: ...


class LogNotifier:
    """Writes each notification as one WARNING (firing) or INFO (resolved) log line."""

    def notify(self, message: Notification) -> None:
        """Log the message."""
        level = logging.WARNING if message.status == "firing" else logging.INFO
        log.log(level, "alert %s %s: %s", message.alert, message.status, message.summary)


class WebhookNotifier:
    """POSTs notifications as JSON from a background thread, with retries and back-off."""

    def __init__(
        self,
        url: str,
        *,
        max_attempts: int = 5,
        base_delay_s: float = 0.5,
        timeout_s: float = 5.0,
        on_result: Callable[[Notification, bool], None] | None = None,
    ) -> None:
        self.url = url
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.timeout_s = timeout_s
        self.on_result = on_result
        self.delivered = 0
        self.failed = 0
        self._queue: queue.Queue[Notification | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cvntrade-webhook", daemon=True)
        self._thread.start()

    def notify(self, message: Notification) -> None:
        """Queue the message (returns at once)."""
        self._queue.put(message)

    def close(self) -> None:
        """Deliver what is queued (no more retries after close), then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                return
            ok = self._deliver(message)
            if ok:
                self.delivered += 1
            else:
                self.failed += 1
            if self.on_result is not None:
                self.on_result(message, ok)

    def _deliver(self, message: Notification) -> bool:
        body = json.dumps(message.payload()).encode()
        for attempt in range(self.max_attempts):
            request = urllib.request.Request(
                self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    if 200 <= response.status < 300:
                        return True
            except (urllib.error.URLError, OSError) as exc:
                log.warning("webhook %s attempt %d failed: %s", self.url, attempt + 1, exc)
            if attempt + 1 < self.max_attempts and self._stop.wait(self.base_delay_s * 2**attempt):
                break
        return False
