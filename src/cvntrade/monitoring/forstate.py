"""Prometheus' `for:` semantics as a pure state machine.

An alert whose condition becomes true is `pending`; it turns `firing` once the condition has
held for `for_` (checked at each evaluation, like Prometheus); when the condition is false, a
firing alert is `resolved` and a pending one simply goes back to inactive (Prometheus sends
nothing for it; we record it as resolved too, for the audit trail, but nobody is notified).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

State = Literal["inactive", "pending", "firing"]
Transition = Literal["pending", "firing", "resolved"]


@dataclass(frozen=True, slots=True)
class Tracker:
    """Where one alert series stands: its state and since when the condition has held."""

    state: State = "inactive"
    active_since: dt.datetime | None = None


def step(
    tracker: Tracker, condition: bool, now: dt.datetime, for_: dt.timedelta
) -> tuple[Tracker, list[Transition]]:
    """The next tracker and the transitions to record (in order) after one evaluation."""
    if not condition:
        if tracker.state == "inactive":
            return tracker, []
        return Tracker(), ["resolved"]
    if tracker.state == "inactive":
        started = Tracker("pending", now)
        if for_ <= dt.timedelta(0):
            return Tracker("firing", now), ["pending", "firing"]
        return started, ["pending"]
    since = tracker.active_since or now
    if tracker.state == "pending" and now - since >= for_:
        return Tracker("firing", since), ["firing"]
    return tracker, []
