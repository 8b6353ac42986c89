"""Monitoring: signal snapshots and alert events (issue 11).

`monitor_snapshots` keeps every recomputation of the monitoring signals (expectancy windows,
PSI, sharpness, live ECE, focal_loss_active) for dashboards and the incident timeline;
`alert_events` keeps the built-in evaluator's transitions (pending → firing → resolved) with
their labels and values, the incident they opened or joined, and the operator's acknowledgement.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "monitor_snapshots",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("crypto_symbol", sa.String(20), nullable=False),
        sa.Column("signal", sa.String(60), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("data", JSON_DOC, nullable=True),
    )
    op.create_index(
        "ix_monitor_snapshots_signal", "monitor_snapshots", ["signal", "crypto_symbol", "at"]
    )
    op.create_table(
        "alert_events",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("alert", sa.String(80), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("labels", JSON_DOC, nullable=False),
        sa.Column("values", JSON_DOC, nullable=False),
        sa.Column("incident_id", AUTO_ID, sa.ForeignKey("incidents.id"), nullable=True),
        sa.Column("acked_by", sa.String(120), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("ack_reason", sa.Text, nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'firing', 'resolved')", name="ck_alert_event_state"
        ),
    )
    op.create_index("ix_alert_events_fingerprint", "alert_events", ["fingerprint", "at"])


def downgrade() -> None:
    op.drop_index("ix_alert_events_fingerprint", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_monitor_snapshots_signal", table_name="monitor_snapshots")
    op.drop_table("monitor_snapshots")
