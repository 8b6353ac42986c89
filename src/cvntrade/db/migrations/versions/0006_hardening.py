"""Hardening: append-only for real — no REPLACE on SQLite, no TRUNCATE on PostgreSQL (issue 16).

Revision 0001 made `audit_log` and `ftf_config_history` refuse UPDATE and DELETE. Two holes were
left: on SQLite `INSERT OR REPLACE` (and `REPLACE INTO`) deletes the conflicting row without
firing delete triggers, rewriting history; on PostgreSQL `TRUNCATE` fires no row trigger and
emptied both tables. This revision closes both:

* SQLite: a BEFORE INSERT trigger refuses a row whose `id` (or, for the config history, whose
  `version`) already exists, which is exactly what a REPLACE or an upsert needs;
* PostgreSQL: a statement-level BEFORE TRUNCATE trigger.

The production role model (docs/storage.md) removes the rest: the application role owns nothing
and has only SELECT and INSERT on these tables.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APPEND_ONLY_KEYS = {"audit_log": ("id",), "ftf_config_history": ("id", "version")}


def upgrade() -> None:
    """Add the no-replace (SQLite) or no-truncate (PostgreSQL) triggers."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, keys in APPEND_ONLY_KEYS.items():
        if postgresql:
            # The function raising '<table> is append-only' was created by revision 0001.
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
            )
        else:
            clash = " OR ".join(f"{key} = NEW.{key}" for key in keys)
            op.execute(
                f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    """Drop the triggers added by `upgrade`."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY_KEYS:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
