"""Audit hash chain: `prev_hash`/`row_hash` on the append-only tables, and their heads (issue 16).

Adds `prev_hash` and `row_hash` (hex SHA-256) to `audit_log` and `ftf_config_history`, creates
`hash_chain_heads` (one row per chained table: row count and newest hash) and back-fills the
existing rows in id order (`cvntrade.db.chain_rebuild.rechain`, which lifts the append-only
triggers for the back-fill and puts them back). From here on `cvntrade.audit.write_audit` and
`set_config` append through `cvntrade.db.chain.append_chained`; `cvntrade audit verify` checks.

Revision ID: 0010_audit_hash_chain
Revises: 0009_journal_import_batches
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cvntrade.db.chain import HASHED_COLUMNS
from cvntrade.db.chain_rebuild import rechain

revision = "0010_audit_hash_chain"
down_revision = "0009_journal_import_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the heads table, add the hash columns, chain the rows already there."""
    op.create_table(
        "hash_chain_heads",
        sa.Column("table_name", sa.String(40), primary_key=True),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
    )
    for table in HASHED_COLUMNS:
        op.add_column(table, sa.Column("prev_hash", sa.String(64), nullable=True))
        op.add_column(table, sa.Column("row_hash", sa.String(64), nullable=True))
    for table in HASHED_COLUMNS:
        rechain(op.get_bind(), table)


def downgrade() -> None:
    """Drop the hash columns and the heads table."""
    for table in HASHED_COLUMNS:
        op.execute(f"ALTER TABLE {table} DROP COLUMN row_hash")
        op.execute(f"ALTER TABLE {table} DROP COLUMN prev_hash")
    op.drop_table("hash_chain_heads")
