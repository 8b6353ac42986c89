"""The append-only audit log: who changed what, when, from what to what, and why.

Every operator-visible state change (config, alias, kill switch, halt, incident) writes one
row here in the same transaction as the change itself. The database refuses UPDATE/DELETE, and
every row is chained by hash to the one before it (`cvntrade.db.chain`) so that even a superuser
who lifts those triggers cannot rewrite history unnoticed (`cvntrade audit verify`).
A row belongs to an incident through the `incident_id` column (a foreign key), never through
its text: a reason that happens to say `[incident #1]` attaches nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select

from cvntrade.clock import to_naive_utc
from cvntrade.db.chain import append_chained
from cvntrade.db.tables import audit_log
from cvntrade.redaction import redact, redact_data
from cvntrade.text import check_text

ACTOR_MAX_LEN = 120
TARGET_MAX_LEN = 200


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited change; `before`/`after` are JSON-serialisable snapshots of the target.

    `incident_id` attaches the row to an incident's timeline (it must exist: foreign key).
    """

    at: dt.datetime
    actor: str
    action: str
    target: str
    reason: str
    before: Any = None
    after: Any = None
    id: int | None = None
    incident_id: int | None = None


def write_audit(conn: Connection, entry: AuditEntry) -> None:
    """Append `entry` inside the caller's transaction (so it commits or rolls back with it).

    The log is append-only and kept forever, so every text is redacted (`cvntrade.redaction`)
    before it is written: a library error quoted in a reason or snapshot must not store a password.
    Control characters in actor or reason are refused (`UserInputError`) on both backends alike.
    The row is appended to the hash chain (serialised with other writers until commit).
    """
    check_text(entry.actor, "actor", max_len=ACTOR_MAX_LEN)
    check_text(entry.reason, "reason", multiline=True)
    check_text(entry.target, "target", max_len=TARGET_MAX_LEN)
    append_chained(
        conn,
        audit_log,
        {
            "at": to_naive_utc(entry.at),
            "actor": redact(entry.actor),
            "action": entry.action,
            "target": redact(entry.target),
            "before": redact_data(entry.before),
            "after": redact_data(entry.after),
            "reason": redact(entry.reason),
            "incident_id": entry.incident_id,
        },
    )


def read_audit(
    engine: Engine, *, target: str | None = None, action: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The newest audit entries first, optionally for one target and/or action."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if target is not None:
        query = query.where(audit_log.c.target == target)
    if action is not None:
        query = query.where(audit_log.c.action == action)
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
