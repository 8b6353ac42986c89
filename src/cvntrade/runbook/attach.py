"""The ONE place where remediation, escalation and the guided run attach things to an incident.

Today an audit row is attached by ending its `reason` with the tag `[incident #ID]`
(`cvntrade.runbook.incidents.tagged`); the audit rows the config, registry and trading-flag
services write for us carry the same tag because we hand them an attached reason. Notes are
rows of `incident_notes`. Every call site in `remediate`, `escalation` and `guided` goes through
the three functions below, so switching to a real `audit_log.incident_id` column changes this
module only:

* `attached_reason(reason, incident_id)` — the reason to write (or to hand to a service);
* `attached_audit_rows(engine, incident_id, action=…)` — the audit rows attached to an incident;
* `attach_note(engine, incident_id, …)` — a structured note (its own `incident.note` audit row);
* `record_step(engine, incident_id, entry, note=…)` — a step's audit row (reason attached) and,
  when attached, its note, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, or_, select

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import audit_log
from cvntrade.runbook.incidents import IncidentNote, incident_tag, insert_note, tagged

REMEDIATION_NOTE = "remediation"
"""Note kind of a remediation decision: data {path, symbols, before, after, fell_back_to_A}."""
DIAGNOSIS_NOTE = "diagnosis"
"""Note kind of a stored diagnosis: data {causes, ranking, likely, scope, affected, path, why}."""
ESCALATION_NOTE = "escalation"
"""Note kind of an escalation check: data {verdict, rollback_at, symbols, …, switched}."""
_TAG_RE = re.compile(r" \[incident #(\d+)\]$")
CONFIRM_NOTE = "confirm"
"""Note kind written by `runbook run` when it opens the incident after a `real` step 1."""


def attached_reason(reason: str, incident_id: int | None) -> str:
    """`reason` attached to `incident_id` (unchanged when None) — for every audited change."""
    return tagged(reason, incident_id)


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
                audit_log.c.reason.like(f"%{incident_tag(incident_id)}"),
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


def incident_of_reason(reason: str) -> int | None:
    """The incident an audit row's reason attaches it to (None when unattached)."""
    match = _TAG_RE.search(reason)
    return None if match is None else int(match.group(1))


def record_step(
    engine: Engine,
    incident_id: int | None,
    entry: AuditEntry,
    *,
    note: tuple[str, str, Mapping[str, Any] | None] | None = None,
) -> IncidentNote | None:
    """Write `entry` with its reason attached to `incident_id`, and `note` = (kind, text, data)
    on the incident when attached, in one transaction; returns the note (None when none)."""
    attached = AuditEntry(
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        reason=attached_reason(entry.reason, incident_id),
        before=entry.before,
        after=entry.after,
    )
    with write_transaction(engine) as conn:
        write_audit(conn, attached)
        if note is None or incident_id is None:
            return None
        kind, text, data = note
        return insert_note(
            conn, incident_id, text, actor=entry.actor, at=entry.at, kind=kind, data=data
        )
