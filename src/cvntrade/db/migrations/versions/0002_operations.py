"""Operations: predictions, alias events, engine status, trading flags, incidents, sweep results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("crypto_symbol", sa.String(20), nullable=False),
        sa.Column("strategy", sa.String(40), nullable=False),
        sa.Column("bar_time", sa.DateTime(timezone=False), nullable=False),
        sa.Column("model_name", sa.String(120), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("model_loss_function", sa.String(10), nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.UniqueConstraint("crypto_symbol", "strategy", "bar_time", name="uq_predictions_bar"),
    )
    op.create_index("ix_predictions_symbol_bar", "predictions", ["crypto_symbol", "bar_time"])
    op.create_table(
        "alias_events",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("model_name", sa.String(120), nullable=False),
        sa.Column("alias", sa.String(60), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(120), nullable=False),
    )
    op.create_table(
        "engine_status",
        sa.Column("engine_id", sa.String(80), primary_key=True),
        sa.Column("crypto_symbol", sa.String(20), primary_key=True),
        sa.Column("strategy", sa.String(40), nullable=False),
        sa.Column("model_name", sa.String(120), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=True),
        sa.Column("model_loss_function", sa.String(10), nullable=True),
        sa.Column("stale", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=False), nullable=False),
    )
    op.create_table(
        "trading_flags",
        sa.Column("name", sa.String(20), primary_key=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.CheckConstraint("name IN ('kill_switch', 'halt')", name="ck_trading_flags_name"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("alert", sa.String(80), nullable=False),
        sa.Column("severity", sa.String(4), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("opened_by", sa.String(120), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=False), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'mitigated', 'resolved', 'false_positive')",
            name="ck_incident_status",
        ),
    )
    op.create_table(
        "incident_notes",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("incident_id", AUTO_ID, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("data", JSON_DOC, nullable=True),
    )
    op.create_index("ix_incident_notes_incident", "incident_notes", ["incident_id", "at"])
    op.create_table(
        "sweep_results",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("sweep_key", sa.String(64), nullable=False),
        sa.Column("crypto_symbol", sa.String(20), nullable=False),
        sa.Column("strategy", sa.String(40), nullable=False),
        sa.Column("cell", sa.String(40), nullable=False),
        sa.Column("loss_function", sa.String(10), nullable=False),
        sa.Column("gamma", sa.Float, nullable=True),
        sa.Column("alpha", sa.Float, nullable=True),
        sa.Column("fold", sa.Integer, nullable=False),
        sa.Column("metrics", JSON_DOC, nullable=False),
        sa.Column("mlflow_run_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.UniqueConstraint(
            "sweep_key", "crypto_symbol", "strategy", "cell", "fold", name="uq_sweep_cell"
        ),
    )


def downgrade() -> None:
    for table in (
        "sweep_results",
        "incident_notes",
        "incidents",
        "trading_flags",
        "engine_status",
        "alias_events",
        "predictions",
    ):
        op.drop_table(table)
