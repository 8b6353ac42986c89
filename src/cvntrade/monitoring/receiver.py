"""The Alertmanager webhook receiver: Prometheus pages reach CVNTrade's incident timeline.

Alertmanager POSTs its webhook JSON (version 4) to `/alertmanager`. `parse_webhook` validates it
(a `UserInputError` naming the field; nothing is written). `receive` stores each alert's
transition in `alert_events` (fingerprint = Alertmanager's) through the built-in evaluator's
`record_transition`, so the `expectancy_negative_focal` incident is opened — or attached to —
exactly once per firing episode of a fingerprint, and the resolution is noted in it.
Alertmanager re-sends a firing alert every `repeat_interval` and retries failed deliveries:
a `firing` for a fingerprint whose episode already fired, a `resolved` without a firing
episode, and a stale `firing` of an episode already resolved (same `startsAt`) write nothing.
Other alerts (the warnings) are recorded as events without an incident.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine

from cvntrade.errors import CvnError, UserInputError
from cvntrade.monitoring.alerts import ALERT_NAME, SEVERITY
from cvntrade.monitoring.evaluator import (
    AlertEvent,
    TransitionRecord,
    list_events,
    record_transition,
    restore_tracker,
)
from cvntrade.redaction import redact
from cvntrade.text import check_text

log = logging.getLogger(__name__)
PATH = "/alertmanager"
ACTOR = "alertmanager"
MAX_BODY = 1_000_000
_MAX_TEXT = 4000


@dataclass(frozen=True, slots=True)
class ReceivedAlert:
    """One alert of an Alertmanager webhook payload, checked and redacted."""

    status: str
    name: str
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    ends_at: str


def _text(value: Any, field: str, *, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise UserInputError(f"{field} must be a string")
    return redact(check_text(value, field, max_len=_MAX_TEXT, multiline=multiline))


def _mapping(value: Any, field: str, *, multiline: bool = False) -> dict[str, str]:
    if not isinstance(value, dict):
        raise UserInputError(f"{field} must be an object")
    return {
        _text(k, f"{field} key"): _text(v, f"{field}.{k}", multiline=multiline)
        for k, v in value.items()
    }


def parse_webhook(body: bytes) -> list[ReceivedAlert]:
    """The alerts of an Alertmanager webhook body; `UserInputError` naming the bad field."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserInputError(f"body is not JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise UserInputError("body must be an object with an `alerts` list (Alertmanager v4)")
    alerts = []
    for i, raw in enumerate(payload["alerts"]):
        where = f"alerts[{i}]"
        if not isinstance(raw, dict):
            raise UserInputError(f"{where} must be an object")
        status = raw.get("status")
        if status not in ("firing", "resolved"):
            raise UserInputError(f"{where}.status must be firing or resolved (got {status!r})")
        labels = _mapping(raw.get("labels"), f"{where}.labels")
        if not labels.get("alertname") or len(labels["alertname"]) > 80:
            raise UserInputError(f"{where}.labels.alertname must have 1 to 80 characters")
        fingerprint = _text(raw.get("fingerprint"), f"{where}.fingerprint")
        if not fingerprint or len(fingerprint) > 64:
            raise UserInputError(f"{where}.fingerprint must have 1 to 64 characters")
        alerts.append(
            ReceivedAlert(
                status=status,
                name=labels["alertname"],
                fingerprint=fingerprint,
                labels=labels,
                annotations=_mapping(
                    raw.get("annotations", {}), f"{where}.annotations", multiline=True
                ),
                starts_at=_text(raw.get("startsAt", ""), f"{where}.startsAt"),
                ends_at=_text(raw.get("endsAt", ""), f"{where}.endsAt"),
            )
        )
    return alerts


def _is_repeat(engine: Engine, alert: ReceivedAlert) -> bool:
    """True when `alert` adds nothing to what `alert_events` already holds for its episode."""
    _, episode = restore_tracker(engine, alert.fingerprint)
    fired = any(e.state == "firing" for e in episode)
    if alert.status == "resolved":
        return not fired
    if fired:
        return True
    last = list_events(engine, fingerprint=alert.fingerprint, limit=1)
    return bool(last) and last[0].labels.get("starts_at") == alert.starts_at


def _record(alert: ReceivedAlert, now: dt.datetime) -> TransitionRecord:
    summary = alert.annotations.get("summary") or alert.name
    description = alert.annotations.get("description", "")
    labels: dict[str, Any] = {
        **alert.labels,
        "source": "alertmanager",
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
    }
    return TransitionRecord(
        alert=alert.name,
        fingerprint=alert.fingerprint,
        state="firing" if alert.status == "firing" else "resolved",
        at=now,
        labels=labels,
        values={"annotations": alert.annotations},
        summary=f"{summary} (Alertmanager)",
        title=f"{alert.name}: {summary}"[:200],
        severity=alert.labels.get("severity", SEVERITY),
        reason="Alertmanager: alert firing",
        note_data={
            "fingerprint": alert.fingerprint,
            "starts_at": alert.starts_at,
            "description": description,
        },
        actor=ACTOR,
        open_incident=alert.name == ALERT_NAME,
    )


def receive(engine: Engine, alerts: list[ReceivedAlert], now: dt.datetime) -> list[AlertEvent]:
    """Record the new transitions among `alerts`; repeats and re-deliveries write nothing."""
    written = []
    for alert in alerts:
        if not _is_repeat(engine, alert):
            written.append(record_transition(engine, _record(alert, now)))
    return written


class ReceiverServer:
    """`POST /alertmanager` on ADDR:PORT; one payload is handled at a time (one writer)."""

    def __init__(self, engine: Engine, *, addr: str = "127.0.0.1", port: int = 9109) -> None:
        from cvntrade.clock import utc_now

        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path.split("?")[0] != PATH:
                    self._answer(404, {"error": f"POST {PATH}"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._answer(413, {"error": f"body larger than {MAX_BODY} bytes"})
                    return
                try:
                    alerts = parse_webhook(self.rfile.read(length))
                    with lock:
                        events = receive(engine, alerts, utc_now())
                except UserInputError as exc:
                    self._answer(400, {"error": redact(str(exc))})
                    return
                except CvnError as exc:
                    log.exception("alertmanager payload not recorded")
                    self._answer(500, {"error": redact(str(exc))})
                    return
                self._answer(
                    200,
                    {
                        "received": len(alerts),
                        "recorded": [
                            {"event_id": e.id, "state": e.state, "incident_id": e.incident_id}
                            for e in events
                        ],
                    },
                )

            def log_message(self, format: str, *args: Any) -> None:
                log.debug(redact(format % args))

        self._server = ThreadingHTTPServer((addr, port), Handler)
        self.port = int(self._server.server_port)
        self.url = f"http://{addr}:{self.port}{PATH}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="cvntrade-am-receiver", daemon=True
        )

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=30)
