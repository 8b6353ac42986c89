"""The ONE place where remediation, escalation and the guided run attach things to an incident.

An audit row is attached through its `audit_log.incident_id` column (a foreign key; free-text
reasons attach nothing); the config, registry and trading-flag services take `incident_id=` for
the rows they write for us. Notes are rows of `incident_notes`:

* `attached_audit_rows(engine, incident_id, action=…)` — the audit rows attached to an incident;
* `attach_note(engine, incident_id, …)` — a structured note (its own `incident.note` audit row);
* `record_step(engine, incident_id, entry, note=…)` — a step's audit row (reason attached) and,
  when attached, its note, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, or_, select

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import audit_log
from cvntrade.domain import NoteKind
from cvntrade.runbook.incidents import IncidentNote, insert_note

REMEDIATION_NOTE = NoteKind.REMEDIATION.value
"""Note kind of a remediation decision: data {path, symbols, before, after, fell_back_to_A}."""
DIAGNOSIS_NOTE = NoteKind.DIAGNOSIS.value
"""Note kind of a stored diagnosis: data {causes, ranking, likely, scope, affected, path, why}."""
ESCALATION_NOTE = NoteKind.ESCALATION.value
"""Note kind of an escalation check: data {verdict, rollback_at, symbols, …, switched}."""
CONFIRM_NOTE = NoteKind.CONFIRM.value
"""Note kind written by `runbook run` when it opens the incident after a `real` step 1."""


def attached_audit_rows(
    engine: Engine, incident_id: int | None, *, action: str, limit: int = 200
) -> list[AuditEntry]:
    """Audit rows of `action`, newest first; only those attached to `incident_id` when given."""
    query = (
        select(audit_log)
        .where(audit_log.c.action == action)
        .order_by(audit_log.c.id.desc())
        .limit(limit)
    )
    if incident_id is not None:
        query = query.where(
            or_(
                audit_log.c.target == f"incident:{incident_id}",
                audit_log.c.incident_id == incident_id,
            )
        )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        AuditEntry(
            id=row["id"],
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            target=row["target"],
            before=row["before"],
            after=row["after"],
            reason=row["reason"],
            incident_id=row["incident_id"],
        )
        for row in rows
    ]


def attach_note(
    engine: Engine,
    incident_id: int | None,
    text: str,
    *,
    kind: str,
    actor: str,
    at: dt.datetime,
    data: Mapping[str, Any] | None = None,
) -> IncidentNote | None:
    """A note on the incident (audited as `incident.note`); nothing when `incident_id` is None."""
    if incident_id is None:
        return None
    with write_transaction(engine) as conn:
        return insert_note(conn, incident_id, text, actor=actor, at=at, kind=kind, data=data)


def record_step(
    engine: Engine,
    incident_id: int | None,
    entry: AuditEntry,
    *,
    note: tuple[str, str, Mapping[str, Any] | None] | None = None,
) -> IncidentNote | None:
    """Write `entry` attached to `incident_id`, and `note` = (kind, text, data)
    on the incident when attached, in one transaction; returns the note (None when none)."""
    attached = AuditEntry(
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        reason=entry.reason,
        before=entry.before,
        after=entry.after,
        incident_id=incident_id,
    )
    with write_transaction(engine) as conn:
        write_audit(conn, attached)
        if note is None or incident_id is None:
            return None
        kind, text, data = note
        return insert_note(
            conn, incident_id, text, actor=entry.actor, at=entry.at, kind=kind, data=data
        )
