"""Incident links and the post-incident checklist (issue 12.5).

1. `audit_log.incident_id`: a real, nullable, indexed column (foreign key to `incidents.id`) that
   attaches an audit row to an incident. Until now a row was attached by ending its free-text
   `reason` with ` [incident #N]`, which any reason could forge and no index could serve.

   Back-fill: every existing row whose reason ends with that tag, or whose target is
   `incident:N`, gets `incident_id = N` — only when incident N exists (a tag naming a missing
   incident is left unattached rather than failing the migration on the foreign key).

   The reason text is **kept byte for byte**. `audit_log` is append-only (revisions 0001/0006
   refuse UPDATE, DELETE, REPLACE and TRUNCATE), and the evidence it holds is exactly what an
   operator typed; rewriting it would also invalidate anything computed over it (hashes,
   exports). Only the new column is filled: the migration, which runs as the table's owner,
   switches the UPDATE guard off around the back-fill and back on before it commits, in the
   same transaction (SQLite: drop and re-create `audit_log_no_update` with its original body;
   PostgreSQL: `ALTER TABLE … DISABLE/ENABLE TRIGGER audit_log_append_only`). Nothing else is
   updated, and the application role cannot do the same (docs/storage.md).

2. `incident_checklist`: the runbook's post-incident checklist, one row per (incident, item)
   with its state (`pending`, `done`, `not_applicable`), note, structured data, time and actor.
   Every change is audited (`incident.checklist`).

Revision ID: 0008_audit_incident_id
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008_audit_incident_id"
down_revision = "0007"
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")
TAG_RE = re.compile(r" \[incident #(\d+)\]$")
TARGET_RE = re.compile(r"^incident:(\d+)$")
SQLITE_NO_UPDATE = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)
"""Revision 0001's SQLite UPDATE guard, verbatim: re-created after the back-fill."""
BATCH = 1000


def upgrade() -> None:
    """Add the column and its index, back-fill it, create `incident_checklist`."""
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        op.add_column(
            "audit_log",
            sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=True),
        )
    else:
        # SQLite adds a REFERENCES column in place (NULL default); no table rebuild, which
        # would drop the append-only triggers.
        op.execute("ALTER TABLE audit_log ADD COLUMN incident_id INTEGER REFERENCES incidents(id)")
    op.create_index("ix_audit_log_incident", "audit_log", ["incident_id", "at"])
    _backfill(bind, postgresql=postgresql)
    op.create_table(
        "incident_checklist",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("incident_id", AUTO_ID, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("item", sa.String(40), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("data", JSON_DOC, nullable=True),
        sa.Column("at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'done', 'not_applicable')", name="ck_incident_checklist_state"
        ),
        sa.UniqueConstraint("incident_id", "item", name="uq_incident_checklist_item"),
    )


def _backfill(bind: sa.Connection, *, postgresql: bool) -> None:
    """`incident_id` from the legacy reason tag or an `incident:N` target (reason untouched)."""
    existing = {int(i) for i in bind.execute(sa.text("SELECT id FROM incidents")).scalars()}
    rows = bind.execute(
        sa.text(
            "SELECT id, reason, target FROM audit_log "
            "WHERE reason LIKE '% [incident #%]' OR target LIKE 'incident:%' ORDER BY id"
        )
    ).all()
    links = []
    for row_id, reason, target in rows:
        match = TAG_RE.search(reason) or TARGET_RE.match(target)
        if match is not None and int(match[1]) in existing:
            links.append({"row": int(row_id), "incident": int(match[1])})
    if not links:
        return
    if postgresql:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
    statement = sa.text("UPDATE audit_log SET incident_id = :incident WHERE id = :row")
    for start in range(0, len(links), BATCH):
        bind.execute(statement, links[start : start + BATCH])
    if postgresql:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    else:
        op.execute(SQLITE_NO_UPDATE)


def downgrade() -> None:
    """Drop the checklist and the column (the reasons still hold the legacy tags)."""
    op.drop_table("incident_checklist")
    op.drop_index("ix_audit_log_incident", table_name="audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("audit_log", "incident_id")
    else:
        # SQLite >= 3.35 drops a column in place; it refuses columns that are indexed (the
        # index is gone) or referenced by a foreign key constraint of another table (none).
        op.execute("ALTER TABLE audit_log DROP COLUMN incident_id")
