"""Alias intents: record an alias move before the registry moves, settle it after (issue 12.5).

A move used to call MLflow inside the database transaction that wrote its audit row: a kill
between the registry write and the commit left the alias moved with no audit row. Now the move
is recorded first (`pending`, committed), the registry moves, then one transaction writes the
audit row and the `alias_events` row and marks the intent `done`. A pending intent left by a
crash is settled by reconciliation (`done` with the missing audit row, or `abandoned`).

Revision ID: 0011_alias_intents
Revises: 0010_audit_hash_chain
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_alias_intents"
down_revision = "0010_audit_hash_chain"
branch_labels = None
depends_on = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create `alias_intents` and its (state, model_name) index."""
    op.create_table(
        "alias_intents",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("model_name", sa.String(120), nullable=False),
        sa.Column("alias", sa.String(60), nullable=False),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("settled_by", sa.String(120), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("incident_id", AUTO_ID, sa.ForeignKey("incidents.id"), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'done', 'abandoned')", name="ck_alias_intents_state"
        ),
    )
    op.create_index("ix_alias_intents_state_model", "alias_intents", ["state", "model_name"])


def downgrade() -> None:
    """Drop `alias_intents`."""
    op.drop_index("ix_alias_intents_state_model", table_name="alias_intents")
    op.drop_table("alias_intents")
