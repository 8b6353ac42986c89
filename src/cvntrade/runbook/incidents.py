"""The incident log: one record per page, its notes, and a timeline built from the audit log.

An incident is a row of `incidents` plus free-text or structured rows of `incident_notes`. The
runbook steps attach to an incident by setting `audit_log.incident_id` on every audit row they
write (their own rows and the `config.set` / `models.set_alias` rows written by the config and
registry services for them), so the timeline of an incident is its notes plus every audit row
whose `incident_id` is its id, in time order — even when the step that wrote it was killed
half-way (the row commits with the change). Free text never attaches anything: a reason saying
`[incident #1]` is just text.

Every change (open, note, status) is audited in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import incident_notes, incidents
from cvntrade.domain import IncidentStatus
from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.redaction import redact, redact_data
from cvntrade.text import check_text

STATUSES = tuple(status.value for status in IncidentStatus)
"""`open` and `mitigated` are ongoing (no `closed_at`); `resolved`/`false_positive` are closed."""
CLOSED_STATUSES = tuple(status.value for status in IncidentStatus if status.closed)
SEVERITIES = ("P1", "P2", "P3", "P4")
_ALERT_RE = re.compile(r"^[a-z][a-z0-9_]{0,79}$")


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident: which alert paged, how bad, where it stands, who opened it and when."""

    id: int
    alert: str
    severity: str
    status: str
    title: str
    opened_at: dt.datetime
    opened_by: str
    closed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class IncidentNote:
    """A note on an incident: free text by an operator or a record written by a runbook step."""

    id: int
    incident_id: int
    at: dt.datetime
    actor: str
    kind: str
    text: str
    data: Any = None


def validate_alert(alert: str) -> str:
    """An alert name such as `expectancy_negative_focal` (lower case, digits, underscores)."""
    if not _ALERT_RE.match(alert):
        raise UserInputError(
            f"invalid alert {alert!r}: expected a lower-case name such as expectancy_negative_focal"
        )
    return alert


def _validate_status(status: str) -> str:
    if status not in STATUSES:
        raise UserInputError(f"invalid status {status!r}: choose one of {', '.join(STATUSES)}")
    return status


def _incident(row: Any) -> Incident:
    return Incident(
        id=int(row.id),
        alert=row.alert,
        severity=row.severity,
        status=row.status,
        title=row.title,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        closed_at=row.closed_at,
    )


def insert_incident(
    conn: Connection,
    *,
    alert: str,
    title: str,
    severity: str,
    actor: str,
    at: dt.datetime,
    status: str = "open",
    reason: str = "",
) -> Incident:
    """Create an incident inside the caller's transaction (audited as `incident.open`)."""
    validate_alert(alert)
    if severity not in SEVERITIES:
        raise UserInputError(
            f"invalid severity {severity!r}: choose one of {', '.join(SEVERITIES)}"
        )
    if not title.strip():
        raise UserInputError("a non-empty --title is required to open an incident")
    check_text(title, "--title", max_len=500)
    check_text(actor, "--actor", max_len=120)
    title = redact(title)
    if not actor.strip():
        raise UserInputError("a non-empty --actor is required")
    _validate_status(status)
    closed_at = at if status in CLOSED_STATUSES else None
    new_id = conn.execute(
        insert(incidents)
        .values(
            alert=alert,
            severity=severity,
            status=status,
            title=title.strip(),
            opened_at=at,
            opened_by=actor,
            closed_at=closed_at,
        )
        .returning(incidents.c.id)
    ).scalar_one()
    incident = Incident(int(new_id), alert, severity, status, title.strip(), at, actor, closed_at)
    write_audit(
        conn,
        AuditEntry(
            at=at,
            actor=actor,
            action="incident.open",
            target=f"incident:{incident.id}",
            reason=reason or f"{alert}: {incident.title}",
            before=None,
            after={"alert": alert, "severity": severity, "status": status, "title": incident.title},
            incident_id=incident.id,
        ),
    )
    return incident


def insert_note(
    conn: Connection,
    incident_id: int,
    text: str,
    *,
    actor: str,
    at: dt.datetime,
    kind: str = "note",
    data: Mapping[str, Any] | None = None,
) -> IncidentNote:
    """Append a note inside the caller's transaction (audited as `incident.note`)."""
    if not text.strip():
        raise UserInputError("a note needs some text")
    if not actor.strip():
        raise UserInputError("a non-empty --actor is required")
    check_text(text, "note", multiline=True)
    check_text(actor, "--actor", max_len=120)
    text = redact(text)  # notes quote errors and command lines: never store a password
    new_id = conn.execute(
        insert(incident_notes)
        .values(
            incident_id=incident_id,
            at=at,
            actor=actor,
            kind=kind,
            text=text.strip(),
            data=None if data is None else redact_data(dict(data)),
        )
        .returning(incident_notes.c.id)
    ).scalar_one()
    write_audit(
        conn,
        AuditEntry(
            at=at,
            actor=actor,
            action="incident.note",
            target=f"incident:{incident_id}",
            reason=text.strip(),
            after={"kind": kind},
            incident_id=incident_id,
        ),
    )
    return IncidentNote(int(new_id), incident_id, at, actor, kind, text.strip(), data)


def update_status(
    conn: Connection, incident: Incident, status: str, *, actor: str, at: dt.datetime, reason: str
) -> Incident:
    """Move an incident to `status` inside the caller's transaction (audited; no-op if equal)."""
    _validate_status(status)
    if status == incident.status:
        return incident
    closed_at = at if status in CLOSED_STATUSES else None
    conn.execute(
        update(incidents)
        .where(incidents.c.id == incident.id)
        .values(status=status, closed_at=closed_at)
    )
    write_audit(
        conn,
        AuditEntry(
            at=at,
            actor=actor,
            action="incident.status",
            target=f"incident:{incident.id}",
            reason=reason,
            before={"status": incident.status},
            after={"status": status},
            incident_id=incident.id,
        ),
    )
    return Incident(
        incident.id,
        incident.alert,
        incident.severity,
        status,
        incident.title,
        incident.opened_at,
        incident.opened_by,
        closed_at,
    )


def open_incident(
    engine: Engine,
    *,
    alert: str,
    title: str,
    actor: str,
    severity: str = "P1",
    clock: Clock = utc_now,
) -> Incident:
    """Open an incident for `alert` (audited)."""
    with write_transaction(engine) as conn:
        return insert_incident(
            conn, alert=alert, title=title, severity=severity, actor=actor, at=clock()
        )


def add_note(
    engine: Engine,
    incident_id: int,
    text: str,
    *,
    actor: str,
    status: str | None = None,
    clock: Clock = utc_now,
) -> tuple[Incident, IncidentNote]:
    """Add a note to an incident, optionally moving its status in the same transaction."""
    if status is not None:
        _validate_status(status)
    with write_transaction(engine) as conn:
        incident = fetch_incident(conn, incident_id)
        now = clock()
        note = insert_note(conn, incident.id, text, actor=actor, at=now)
        if status is not None:
            incident = update_status(conn, incident, status, actor=actor, at=now, reason=text)
    return incident, note


def fetch_incident(conn: Connection, incident_id: int) -> Incident:
    """One incident; `NotFoundError` (exit 2) when there is no such id."""
    row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
    if row is None:
        raise NotFoundError(f"incident #{incident_id} not found: see `cvntrade incident list`")
    return _incident(row)


def get_incident(engine: Engine, incident_id: int) -> Incident:
    """One incident by id."""
    with engine.connect() as conn:
        return fetch_incident(conn, incident_id)


def list_incidents(
    engine: Engine,
    *,
    alert: str | None = None,
    status: str | None = None,
    ongoing_only: bool = False,
    limit: int = 50,
) -> list[Incident]:
    """Incidents, newest first, optionally for one alert, one status, or only ongoing ones."""
    if limit < 1:
        raise UserInputError(f"--limit must be >= 1 (got {limit})")
    query = select(incidents).order_by(incidents.c.id.desc()).limit(limit)
    if alert is not None:
        query = query.where(incidents.c.alert == validate_alert(alert))
    if status is not None:
        query = query.where(incidents.c.status == _validate_status(status))
    if ongoing_only:
        query = query.where(incidents.c.closed_at.is_(None))
    with engine.connect() as conn:
        return [_incident(row) for row in conn.execute(query).all()]


@dataclass(frozen=True, slots=True)
class Attachment:
    """Which incident a runbook step attaches to, and why (or why none)."""

    incident_id: int | None
    explanation: str


def resolve_attachment(engine: Engine, incident_id: int | None, *, alert: str) -> Attachment:
    """The incident a step attaches to: the one given, else the single ongoing one for `alert`.

    A given id that does not exist is an input error (nothing is done). Without an id, a step
    attaches only when exactly one incident for the alert is ongoing (`open` or `mitigated`);
    with none or several it runs unattached and says so.
    """
    if incident_id is not None:
        incident = get_incident(engine, incident_id)
        return Attachment(incident.id, f"attached to incident #{incident.id} (given)")
    ongoing = list_incidents(engine, alert=alert, ongoing_only=True, limit=3)
    if len(ongoing) == 1:
        return Attachment(
            ongoing[0].id, f"attached to incident #{ongoing[0].id} (the only open one)"
        )
    if not ongoing:
        return Attachment(None, f"no open incident for {alert}: not attached")
    ids = ", ".join(f"#{i.id}" for i in ongoing)
    return Attachment(None, f"several open incidents for {alert} ({ids}): pass --incident ID")
