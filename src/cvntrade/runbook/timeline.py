"""An incident's timeline: its notes and every audited action attached to it, oldest first.

An audit row is attached when its `incident_id` column holds the incident's id (open, notes and
status changes, runbook steps, and the `config.set` / `models.set_alias` rows the config and
registry services write for them; read through the index `ix_audit_log_incident`). The id is
written in the same transaction as the change, so the timeline is complete even for a step
killed half-way. Text never attaches a row: a reason ending with `[incident #ID]` is only text.
Rows written before revision 0008 carry that legacy tag in their reason and were back-filled into
the column; the tag is left out of the text shown here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from cvntrade.db.tables import audit_log, incident_notes
from cvntrade.runbook.incidents import Incident, fetch_incident


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of an incident's timeline: a note or an audited action, whichever came first."""

    at: dt.datetime
    actor: str
    source: str  # "note" or "audit"
    kind: str  # note kind, or audit action such as models.set_alias
    text: str
    data: Any = None


@dataclass(frozen=True, slots=True)
class IncidentTimeline:
    """An incident and everything that happened to it, oldest first."""

    incident: Incident
    entries: tuple[TimelineEntry, ...]


def incident_timeline(engine: Engine, incident_id: int) -> IncidentTimeline:
    """Notes and attached audit rows of an incident, oldest first (notes first on equal time)."""
    legacy_tag = f" [incident #{incident_id}]"
    with engine.connect() as conn:
        incident = fetch_incident(conn, incident_id)
        notes = conn.execute(
            select(incident_notes)
            .where(incident_notes.c.incident_id == incident_id)
            .order_by(incident_notes.c.at, incident_notes.c.id)
        ).all()
        audits = conn.execute(
            select(audit_log)
            .where(
                audit_log.c.incident_id == incident_id,
                audit_log.c.action != "incident.note",  # the note itself is on the timeline
            )
            .order_by(audit_log.c.at, audit_log.c.id)
        ).all()
    entries = [
        (n.at, 0, int(n.id), TimelineEntry(n.at, n.actor, "note", n.kind, n.text, n.data))
        for n in notes
    ]
    entries += [
        (
            a.at,
            1,
            int(a.id),
            TimelineEntry(
                a.at,
                a.actor,
                "audit",
                a.action,
                _audit_text(
                    a.action, a.target, a.reason.removesuffix(legacy_tag), a.before, a.after
                ),
                {"target": a.target, "before": a.before, "after": a.after},
            ),
        )
        for a in audits
    ]
    entries.sort(key=lambda item: item[:3])
    return IncidentTimeline(incident, tuple(entry for *_, entry in entries))


def _audit_text(action: str, target: str, reason: str, before: Any, after: Any) -> str:
    if action == "models.set_alias" and isinstance(after, dict) and "command" in after:
        old = before.get("version") if isinstance(before, dict) else None
        return f"{target}: {old} → {after.get('version')} — {after['command']} ({reason})"
    if action == "incident.status" and isinstance(after, dict) and isinstance(before, dict):
        return f"status {before.get('status')} → {after.get('status')} ({reason})"
    if action == "config.set" and isinstance(after, dict) and isinstance(before, dict):
        changes = ", ".join(
            f"{k}: {before.get(k)} → {v}" for k, v in after.items() if k != "version"
        )
        return (
            f"ftf_config v{before.get('version')} → v{after.get('version')}: {changes} ({reason})"
        )
    summary = after.get("summary") if isinstance(after, dict) else None
    return f"{target}: {summary or reason}"
