"""Built-in evaluator on the journal drills: alert_events, real webhook, incident once, ack."""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine

from cvntrade.config import set_config
from cvntrade.drill import run_journal_drill
from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.monitoring.alerts import evaluate_engine
from cvntrade.monitoring.evaluator import Evaluator, ack_event, list_events
from cvntrade.monitoring.notify import LogNotifier, Notification, WebhookNotifier
from cvntrade.runbook import incident_timeline, list_incidents

T0 = dt.datetime(2026, 12, 1, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += dt.timedelta(minutes=minutes)


@pytest.fixture
def receiver() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """A real HTTP webhook receiver on loopback; received bodies land on a queue."""
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_focal_regression_fires_after_for_once_then_resolves(
    engine: Engine, receiver: tuple[str, queue.Queue[dict[str, Any]]]
) -> None:
    url, received = receiver
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="focal promoted", actor="t")
    run_journal_drill(engine, "focal-regression", actor="drill")
    clock = Clock()
    hook = WebhookNotifier(url)
    evaluator = Evaluator(
        engine,
        [LogNotifier(), hook],
        for_=dt.timedelta(minutes=10),
        repeat_interval=dt.timedelta(hours=1),
        clock=clock,
    )
    state = evaluate_engine(engine)
    assert state.firing
    assert [e.state for e in evaluator.evaluate(state)] == ["pending"]
    clock.advance(5)
    assert evaluator.evaluate(state) == []
    clock.advance(5)
    [firing] = evaluator.evaluate(state)
    assert firing.state == "firing" and firing.incident_id is not None
    message = received.get(timeout=30)
    assert (message["status"], message["alert"], message["event_id"]) == (
        "firing",
        "expectancy_negative_focal",
        firing.id,
    )
    assert message["labels"]["negative_symbols"] == "BTCUSDC,ETHUSDC,SOLUSDC"
    assert message["values"]["BTCUSDC"] < 0
    clock.advance(5)
    assert evaluator.evaluate(state) == []  # still firing, within repeat interval: silent
    # A restarted evaluator resumes the episode: no second incident, no second firing event.
    restarted = Evaluator(engine, [hook], for_=dt.timedelta(minutes=10), clock=clock)
    clock.advance(5)
    assert restarted.evaluate(state) == []
    assert len(list_incidents(engine, alert="expectancy_negative_focal")) == 1

    run_journal_drill(engine, "healthy", actor="drill")
    healthy = evaluate_engine(engine)
    assert not healthy.firing
    [resolved] = restarted.evaluate(healthy)
    assert (resolved.state, resolved.incident_id) == ("resolved", firing.incident_id)
    kinds = [e.kind for e in incident_timeline(engine, firing.incident_id).entries]
    assert "alert.firing" in kinds and "alert.resolved" in kinds
    assert [e.state for e in list_events(engine)] == ["resolved", "firing", "pending"]
    assert received.get(timeout=30)["status"] == "resolved"  # one firing, one resolved
    hook.close()
    assert received.empty()


@pytest.mark.parametrize("scenario", ["single-symbol", "healthy"])
def test_no_event_without_two_negative_symbols(engine: Engine, scenario: str) -> None:
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="t", actor="t")
    run_journal_drill(engine, scenario, actor="drill")
    evaluator = Evaluator(engine, [], for_=dt.timedelta(0))
    assert evaluator.evaluate(evaluate_engine(engine)) == []
    assert list_events(engine) == []


class Collect:
    def __init__(self) -> None:
        self.messages: list[Notification] = []

    def notify(self, message: Notification) -> None:
        self.messages.append(message)


def test_ack_stops_renotification_and_shows_in_the_incident(engine: Engine) -> None:
    set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="t", actor="t")
    run_journal_drill(engine, "focal-regression", actor="drill")
    clock, sink = Clock(), Collect()
    evaluator = Evaluator(
        engine,
        [sink],
        for_=dt.timedelta(0),
        repeat_interval=dt.timedelta(minutes=30),
        clock=clock,
    )
    state = evaluate_engine(engine)
    _, firing = evaluator.evaluate(state)
    clock.advance(31)
    evaluator.evaluate(state)
    assert [m.status for m in sink.messages] == ["firing", "firing"]  # re-notified
    acked = ack_event(engine, firing.id, actor="oncall", reason="rolling back now", clock=clock)
    assert (acked.acked_by, acked.ack_reason) == ("oncall", "rolling back now")
    clock.advance(31)
    evaluator.evaluate(state)
    assert len(sink.messages) == 2  # acknowledged: silent
    assert firing.incident_id is not None
    notes = incident_timeline(engine, firing.incident_id).entries
    assert any(e.kind == "alert.ack" and "rolling back now" in e.text for e in notes)
    with pytest.raises(NotFoundError, match="alert event #999"):
        ack_event(engine, 999, actor="oncall", reason="x")
    with pytest.raises(UserInputError, match="--reason"):
        ack_event(engine, firing.id, actor="oncall", reason=" ")


def test_webhook_retries_with_backoff_until_the_receiver_answers(
    receiver: tuple[str, queue.Queue[dict[str, Any]]],
) -> None:
    url, received = receiver
    results: queue.Queue[bool] = queue.Queue()
    dead = WebhookNotifier(
        "http://127.0.0.1:9/none",
        max_attempts=3,
        base_delay_s=0.01,
        on_result=lambda _m, ok: results.put(ok),
    )
    message = Notification("firing", "a", "fp", 1, T0.isoformat(), "s")
    dead.notify(message)  # returns at once: delivery happens in the background
    assert results.get(timeout=60) is False
    dead.close()
    assert (dead.delivered, dead.failed) == (0, 1)
    live = WebhookNotifier(url, on_result=lambda _m, ok: results.put(ok))
    live.notify(message)
    assert results.get(timeout=60) is True
    assert received.get(timeout=30)["fingerprint"] == "fp"
    live.close()
