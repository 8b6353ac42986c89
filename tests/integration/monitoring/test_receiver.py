"""The Alertmanager webhook receiver over real HTTP on both databases: once per episode."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from cvntrade.errors import UserInputError
from cvntrade.monitoring.evaluator import list_events
from cvntrade.monitoring.receiver import ReceiverServer, parse_webhook
from cvntrade.runbook import incident_timeline, list_incidents

PAGE = "expectancy_negative_focal"


@pytest.fixture
def server(engine: Engine) -> Iterator[ReceiverServer]:
    receiver = ReceiverServer(engine, port=0)
    receiver.start()
    yield receiver
    receiver.stop()


def _alert(status: str, fp: str = "a1b2c3d4e5f60718", **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": PAGE, "severity": "P1", "category": "expectancy"},
        "annotations": {
            "summary": "48 h focal expectancy < 0 on 2 symbols",
            "description": "BTCUSDC -0.300 %\nETHUSDC -0.100 %",
        },
        "startsAt": "2026-12-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fp,
        **extra,
    }


def _post(url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _payload(*alerts: dict[str, Any]) -> bytes:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return json.dumps({"version": "4", "status": status, "alerts": list(alerts)}).encode()


def test_incident_once_per_episode_and_resolution_noted(
    engine: Engine, server: ReceiverServer
) -> None:
    code, body = _post(server.url, _payload(_alert("firing")))
    assert code == 200
    [recorded] = body["recorded"]
    assert recorded["state"] == "firing" and recorded["incident_id"] is not None
    for _ in range(3):  # Alertmanager's repeats and retries
        assert _post(server.url, _payload(_alert("firing"))) == (
            200,
            {"received": 1, "recorded": []},
        )
    [incident] = list_incidents(engine, alert=PAGE)
    assert (incident.id, incident.severity) == (recorded["incident_id"], "P1")

    code, body = _post(server.url, _payload(_alert("resolved")))
    assert [r["state"] for r in body["recorded"]] == ["resolved"]
    assert body["recorded"][0]["incident_id"] == incident.id
    # A late re-delivery of the resolved episode's firing, and of the resolution: nothing.
    assert _post(server.url, _payload(_alert("firing")))[1]["recorded"] == []
    assert _post(server.url, _payload(_alert("resolved")))[1]["recorded"] == []
    kinds = [e.kind for e in incident_timeline(engine, incident.id).entries]
    assert kinds.count("alert.firing") == 1 and kinds.count("alert.resolved") == 1
    events = list_events(engine)
    assert [e.state for e in events] == ["resolved", "firing"]
    assert events[1].labels["source"] == "alertmanager"

    # A new episode (new startsAt) of the same fingerprint attaches to the ongoing incident.
    again = _alert("firing", startsAt="2026-12-01T06:00:00Z")
    [new] = _post(server.url, _payload(again))[1]["recorded"]
    assert new["incident_id"] == incident.id
    assert len(list_incidents(engine, alert=PAGE)) == 1


def test_warnings_are_events_without_incident(engine: Engine, server: ReceiverServer) -> None:
    warning = _alert("firing", fp="ffff000011112222")
    warning["labels"] = {"alertname": "feature_psi_significant", "severity": "warning"}
    [recorded] = _post(server.url, _payload(warning))[1]["recorded"]
    assert recorded["incident_id"] is None
    assert list_incidents(engine) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "not JSON"),
        (b'{"alerts": 3}', "alerts"),
        (_payload(_alert("maybe")), "alerts[0].status"),
        (_payload({**_alert("firing"), "fingerprint": 7}), "alerts[0].fingerprint"),
        (
            _payload({**_alert("firing"), "annotations": {"summary": "a\x1b[2Jb"}}),
            "alerts[0].annotations.summary",
        ),
    ],
)
def test_bad_body_is_400_and_writes_nothing(
    engine: Engine, server: ReceiverServer, body: bytes, field: str
) -> None:
    code, answer = _post(server.url, body)
    assert code == 400 and field in answer["error"]
    assert list_events(engine) == [] and list_incidents(engine) == []


def test_parse_redacts_secrets_in_annotations() -> None:
    alert = _alert("firing")
    alert["annotations"]["description"] = "see postgresql://ops:hunter2secret@db/x"
    [parsed] = parse_webhook(_payload(alert))
    assert "hunter2secret" not in parsed.annotations["description"]
    with pytest.raises(UserInputError, match="alertname"):
        parse_webhook(_payload({**alert, "labels": {}}))
