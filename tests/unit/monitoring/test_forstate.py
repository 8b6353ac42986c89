"""Prometheus `for:` semantics of the built-in evaluator."""

from __future__ import annotations

import datetime as dt

from cvntrade.monitoring.forstate import Tracker, step

T0 = dt.datetime(2026, 12, 1)
FOR = dt.timedelta(minutes=15)


def _run(conditions: list[bool], every: dt.timedelta = dt.timedelta(minutes=5)) -> list[str]:
    tracker, seen = Tracker(), []
    for k, condition in enumerate(conditions):
        tracker, transitions = step(tracker, condition, T0 + k * every, FOR)
        seen += [f"{k}:{t}" for t in transitions]
    return seen


def test_pending_then_firing_after_for_then_resolved() -> None:
    assert _run([True, True, True, True, True, False]) == ["0:pending", "3:firing", "5:resolved"]


def test_flapping_never_fires() -> None:
    assert _run([True, False, True, False, True, True, False]) == [
        "0:pending",
        "1:resolved",
        "2:pending",
        "3:resolved",
        "4:pending",
        "6:resolved",
    ]


def test_zero_for_fires_at_once_and_quiet_stays_quiet() -> None:
    tracker, transitions = step(Tracker(), True, T0, dt.timedelta(0))
    assert (tracker.state, transitions) == ("firing", ["pending", "firing"])
    assert _run([False, False]) == []
