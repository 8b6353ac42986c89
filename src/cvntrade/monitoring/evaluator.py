"""The built-in evaluator: `for:` semantics, `alert_events`, notifications, the incident.

Each evaluation feeds the rule's verdict (`alerts.evaluate`) to the `for:` state machine.
Transitions are stored in `alert_events` (labels and values included). A `firing` transition
notifies, and opens the `expectancy_negative_focal` incident — or attaches to the only ongoing
one — exactly once per firing episode of the fingerprint (the incident id is kept on the
event, and the tracker is restored from `alert_events` after a restart, so a restart does not
open a second one). While firing, notifications repeat every `repeat_interval` until an
operator acknowledges the episode (`ack_event`, audited and noted in the incident timeline).
`resolved` notifies and notes the resolution in the incident.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select, update

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import alert_events
from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.monitoring.alerts import AlertState
from cvntrade.monitoring.forstate import Tracker, Transition, step
from cvntrade.monitoring.notify import Notification, Notifier
from cvntrade.runbook.incidents import insert_incident, insert_note, list_incidents

if TYPE_CHECKING:
    from cvntrade.monitoring.recovery import RecoveryState

DEFAULT_FOR = dt.timedelta(minutes=15)
DEFAULT_REPEAT = dt.timedelta(hours=4)
ACTOR = "cvntrade-monitor"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One row of `alert_events`."""

    id: int
    alert: str
    fingerprint: str
    state: str
    at: dt.datetime
    labels: dict[str, Any]
    values: dict[str, Any]
    incident_id: int | None
    acked_by: str | None
    acked_at: dt.datetime | None
    ack_reason: str | None


def _event(row: Any) -> AlertEvent:
    return AlertEvent(
        int(row.id),
        row.alert,
        row.fingerprint,
        row.state,
        row.at,
        dict(row.labels),
        dict(row.values),
        None if row.incident_id is None else int(row.incident_id),
        row.acked_by,
        row.acked_at,
        row.ack_reason,
    )


def list_events(
    engine: Engine, *, fingerprint: str | None = None, limit: int = 50
) -> list[AlertEvent]:
    """The latest alert events, newest first."""
    query = select(alert_events).order_by(alert_events.c.id.desc()).limit(limit)
    if fingerprint is not None:
        query = query.where(alert_events.c.fingerprint == fingerprint)
    with engine.connect() as conn:
        return [_event(r) for r in conn.execute(query)]


def incident_events(engine: Engine, incident_id: int) -> list[AlertEvent]:
    """Every alert event that opened, joined or was noted in an incident, oldest first."""
    query = (
        select(alert_events)
        .where(alert_events.c.incident_id == incident_id)
        .order_by(alert_events.c.at, alert_events.c.id)
    )
    with engine.connect() as conn:
        return [_event(r) for r in conn.execute(query)]


def restore_tracker(engine: Engine, fingerprint: str) -> tuple[Tracker, list[AlertEvent]]:
    """The tracker after a restart and the events of the current episode (oldest first)."""
    episode: list[AlertEvent] = []
    for event in list_events(engine, fingerprint=fingerprint, limit=20):
        if event.state == "resolved":
            break
        episode.insert(0, event)
    if not episode:
        return Tracker(), []
    firing = any(e.state == "firing" for e in episode)
    return Tracker("firing" if firing else "pending", episode[0].at), episode


class Evaluator:
    """Runs the `for:` state machine over successive `AlertState`s and acts on transitions."""

    def __init__(
        self,
        engine: Engine,
        notifiers: Sequence[Notifier],
        *,
        for_: dt.timedelta = DEFAULT_FOR,
        repeat_interval: dt.timedelta = DEFAULT_REPEAT,
        clock: Clock = utc_now,
    ) -> None:
        self.engine = engine
        self.notifiers = list(notifiers)
        self.for_ = for_
        self.repeat_interval = repeat_interval
        self.clock = clock
        self._trackers: dict[str, Tracker] = {}
        self._last_notified: dict[str, dt.datetime] = {}

    def evaluate(self, state: AlertState | RecoveryState) -> list[AlertEvent]:
        """Advance the alert's tracker with `state` (the `expectancy_negative_focal` rule or
        the `expectancy_not_recovered_after_rollback` rule); returns the events written."""
        now = self.clock()
        fp = state.fingerprint
        if fp not in self._trackers:
            self._trackers[fp], _ = restore_tracker(self.engine, fp)
        was_firing = self._trackers[fp].state == "firing"
        tracker, transitions = step(self._trackers[fp], state.firing, now, self.for_)
        self._trackers[fp] = tracker
        written = [self._record(state, t, now) for t in transitions]
        for event in written:
            if event.state == "firing":
                self._send(event, state, "firing")
            elif event.state == "resolved" and was_firing:
                self._send(event, state, "resolved")
                self._last_notified.pop(fp, None)
        if not transitions and tracker.state == "firing":
            self._maybe_repeat(state, now)
        return written

    def _maybe_repeat(self, state: AlertState | RecoveryState, now: dt.datetime) -> None:
        fp = state.fingerprint
        _, episode = restore_tracker(self.engine, fp)
        if not episode or any(e.acked_at is not None for e in episode):
            return
        fired = [e.at for e in episode if e.state == "firing"]
        last = self._last_notified.get(fp, fired[-1] if fired else None)
        if last is not None and now - last < self.repeat_interval:
            return
        self._send(episode[-1], state, "firing")

    def _send(self, event: AlertEvent, state: AlertState | RecoveryState, status: str) -> None:
        self._last_notified[state.fingerprint] = self.clock()
        message = Notification(
            status=status,
            alert=state.alert,
            fingerprint=state.fingerprint,
            event_id=event.id,
            at=event.at.isoformat(),
            summary=state.summary,
            labels=dict(event.labels),
            values=dict(event.values),
        )
        for notifier in self.notifiers:
            notifier.notify(message)

    def _record(
        self, state: AlertState | RecoveryState, transition: Transition, now: dt.datetime
    ) -> AlertEvent:
        if not isinstance(state, AlertState):
            return record_transition(self.engine, state.transition_record(transition, now))
        labels = {
            **state.labels,
            "focal_source": state.focal_source,
            "negative_symbols": ",".join(state.negative_symbols),
        }
        values = {s: v for s, v in state.expectancies.items() if v == v}  # drop NaN
        return record_transition(
            self.engine,
            TransitionRecord(
                alert=state.alert,
                fingerprint=state.fingerprint,
                state=transition,
                at=now,
                labels=labels,
                values=values,
                summary=state.summary,
                title=f"{state.alert}: {', '.join(state.negative_symbols)} negative over 48 h",
                severity=state.severity,
                reason="built-in evaluator: alert firing",
                note_data={"fingerprint": state.fingerprint, "values": values},
            ),
        )


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """One alert transition to store, with what its incident note and title say."""

    alert: str
    fingerprint: str
    state: Transition
    at: dt.datetime
    labels: dict[str, Any]
    values: dict[str, Any]
    summary: str
    title: str
    severity: str
    reason: str
    note_data: dict[str, Any]
    actor: str = ACTOR
    open_incident: bool = True
    incident_id: int | None = None
    """Attach a firing to this incident when its episode has none yet (e.g. the incident of
    the rollback `expectancy_not_recovered_after_rollback` is about)."""


def record_transition(engine: Engine, record: TransitionRecord) -> AlertEvent:
    """Store a transition in `alert_events` and act on the incident, in one transaction.

    `firing` opens the alert's incident — or attaches to the one this episode already has, or
    to the only ongoing one — with an `alert.firing` note; `resolved` notes the resolution in
    the episode's incident. Shared by the built-in evaluator and the Alertmanager receiver so
    both follow the same once-per-episode incident logic.
    """
    # Read before writing: SQLite allows one writer, and these reads use other connections.
    _, episode = restore_tracker(engine, record.fingerprint)
    known = [e.incident_id for e in episode if e.incident_id is not None]
    target = known[-1] if known else None
    if target is None and record.state == "firing":
        target = record.incident_id
    if target is None and record.open_incident and record.state == "firing":
        # Only a firing attaches to an ongoing incident; a resolution (e.g. of a pending-only
        # episode) is noted only in the incident its own episode opened or attached to.
        ongoing = list_incidents(engine, alert=record.alert, ongoing_only=True, limit=1)
        target = ongoing[0].id if ongoing else None
    with write_transaction(engine) as conn:
        incident_id = _incident(conn, record, target) if record.open_incident or target else None
        new_id = conn.execute(
            insert(alert_events)
            .values(
                alert=record.alert,
                fingerprint=record.fingerprint,
                state=record.state,
                at=record.at,
                labels=record.labels,
                values=record.values,
                incident_id=incident_id,
            )
            .returning(alert_events.c.id)
        ).scalar_one()
        row = conn.execute(select(alert_events).where(alert_events.c.id == new_id)).one()
    return _event(row)


def _incident(conn: Connection, record: TransitionRecord, target: int | None) -> int | None:
    """Open or attach to the incident on `firing`; note the resolution on `resolved`."""
    if record.state == "pending" or (record.state == "resolved" and target is None):
        return None
    if record.state == "resolved":
        assert target is not None
        insert_note(
            conn,
            target,
            f"alert resolved: {record.summary}",
            actor=record.actor,
            at=record.at,
            kind="alert.resolved",
            data={"fingerprint": record.fingerprint},
        )
        return target
    if target is None:
        target = insert_incident(
            conn,
            alert=record.alert,
            title=record.title,
            severity=record.severity,
            actor=record.actor,
            at=record.at,
            reason=record.reason,
        ).id
    insert_note(
        conn,
        target,
        f"alert firing: {record.summary}",
        actor=record.actor,
        at=record.at,
        kind="alert.firing",
        data=record.note_data,
    )
    return target


def ack_event(
    engine: Engine, event_id: int, *, actor: str, reason: str, clock: Clock = utc_now
) -> AlertEvent:
    """Acknowledge an alert event: no more re-notifications for its episode (audited, noted)."""
    if not reason.strip():
        raise UserInputError("a non-empty --reason is required to acknowledge an alert")
    if not actor.strip():
        raise UserInputError("a non-empty --actor is required")
    now = clock()
    with write_transaction(engine) as conn:
        row = conn.execute(select(alert_events).where(alert_events.c.id == event_id)).first()
        if row is None:
            raise NotFoundError(f"alert event #{event_id} not found: see `cvntrade alerts list`")
        conn.execute(
            update(alert_events)
            .where(alert_events.c.id == event_id)
            .values(acked_by=actor, acked_at=now, ack_reason=reason.strip())
        )
        if row.incident_id is not None:
            insert_note(
                conn,
                int(row.incident_id),
                f"alert acknowledged by {actor}: {reason.strip()}",
                actor=actor,
                at=now,
                kind="alert.ack",
                data={"event_id": event_id},
            )
        write_audit(
            conn,
            AuditEntry(
                at=now,
                actor=actor,
                action="alert.ack",
                target=f"alert_event:{event_id}",
                reason=reason.strip(),
                before={"state": row.state},
                after={"acked_by": actor, "fingerprint": row.fingerprint},
                incident_id=None if row.incident_id is None else int(row.incident_id),
            ),
        )
        updated = conn.execute(select(alert_events).where(alert_events.c.id == event_id)).one()
    return _event(updated)
