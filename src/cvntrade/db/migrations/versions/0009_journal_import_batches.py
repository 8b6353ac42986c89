"""Journal import batches: a large import commits in short transactions, visible all at once.

`trade_journal` becomes a view over the renamed table `trade_journal_rows`. Rows written by the
engines and drills have no import batch and are visible at once, as before. Rows of a
`journal import` are written in short transactions (each one holds SQLite's write lock briefly)
under a batch of `journal_import_batches` in state `staging`; the view hides them until one tiny
transaction flips the batch to `published`. Readers of `trade_journal` (the runbook's verbatim
SQL, expectancy, monitoring, the console, Grafana) therefore see a whole import or none of it,
and a crashed import leaves only invisible rows that the next import removes.

The covering index of runbook step 1 also carries `import_batch_id` on PostgreSQL so the
view's filter keeps the index-only scan.

Revision ID: 0009_journal_import_batches
Revises: 0008_audit_incident_id
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_journal_import_batches"
down_revision = "0008_audit_incident_id"
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
VIEW_COLUMNS = (
    "id, trade_id, crypto_symbol, strategy, model_name, model_version, model_loss_function, "
    "side, entry_time, exit_time, entry_price, exit_price, exit_reason, fees_pct, "
    "realized_pnl_pct, probability, source"
)
CREATE_VIEW = f"""
CREATE VIEW trade_journal AS
SELECT {VIEW_COLUMNS}
FROM trade_journal_rows
WHERE import_batch_id IS NULL
   OR import_batch_id IN (SELECT id FROM journal_import_batches WHERE state = 'published')
"""
STEP1_INDEX = "ix_trade_journal_loss_entry"


def _step1_index(include: list[str]) -> None:
    op.drop_index(STEP1_INDEX, table_name="trade_journal_rows")
    op.create_index(
        STEP1_INDEX,
        "trade_journal_rows",
        ["model_loss_function", "entry_time"],
        postgresql_include=include,
    )


def upgrade() -> None:
    """Rename the table, add `import_batch_id` and the batches table, create the view."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "journal_import_batches",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("inserted", sa.Integer, nullable=True),
        sa.CheckConstraint(
            "state IN ('staging', 'discarding', 'published')",
            name="ck_journal_import_batches_state",
        ),
        sqlite_autoincrement=True,  # a batch id is never reused: no row can join another batch
    )
    op.rename_table("trade_journal", "trade_journal_rows")
    op.add_column("trade_journal_rows", sa.Column("import_batch_id", AUTO_ID, nullable=True))
    op.create_index("ix_trade_journal_rows_import_batch", "trade_journal_rows", ["import_batch_id"])
    if postgresql:
        _step1_index(["crypto_symbol", "realized_pnl_pct", "import_batch_id"])
    op.execute(CREATE_VIEW)


def downgrade() -> None:
    """Drop the view (and unpublished rows), the column and the batches table; rename back."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute("DROP VIEW trade_journal")
    op.execute(
        "DELETE FROM trade_journal_rows WHERE import_batch_id IS NOT NULL AND import_batch_id "
        "NOT IN (SELECT id FROM journal_import_batches WHERE state = 'published')"
    )
    if postgresql:
        _step1_index(["crypto_symbol", "realized_pnl_pct"])
    op.drop_index("ix_trade_journal_rows_import_batch", table_name="trade_journal_rows")
    with op.batch_alter_table("trade_journal_rows") as batch:
        batch.drop_column("import_batch_id")
    op.rename_table("trade_journal_rows", "trade_journal")
    op.drop_table("journal_import_batches")
