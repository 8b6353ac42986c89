"""Foundation: trade_journal, ftf_config (+ history) and the append-only audit_log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

INITIAL_ENV = {
    "CVN_LOSS_FUNCTION": "binary:logistic",
    "CVN_FOCAL_GAMMA": "2.0",
    "CVN_FOCAL_ALPHA": "0.25",
    "CVN_CALIBRATION": "none",
}
APPEND_ONLY = ("audit_log", "ftf_config_history")


def upgrade() -> None:
    op.create_table(
        "trade_journal",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("trade_id", sa.String(128), nullable=False, unique=True),
        sa.Column("crypto_symbol", sa.String(20), nullable=False),
        sa.Column("strategy", sa.String(40), nullable=False),
        sa.Column("model_name", sa.String(120), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("model_loss_function", sa.String(10), nullable=False),
        sa.Column("side", sa.String(5), nullable=False, server_default="long"),
        sa.Column("entry_time", sa.DateTime(timezone=False), nullable=False),
        sa.Column("exit_time", sa.DateTime(timezone=False), nullable=False),
        sa.Column("entry_price", sa.Float, nullable=False),
        sa.Column("exit_price", sa.Float, nullable=False),
        sa.Column("exit_reason", sa.String(12), nullable=False),
        sa.Column("fees_pct", sa.Float, nullable=False),
        sa.Column("realized_pnl_pct", sa.Float, nullable=False),
        sa.Column("probability", sa.Float, nullable=True),
        sa.Column("source", sa.String(10), nullable=False, server_default="engine"),
        sa.CheckConstraint(
            "model_loss_function IN ('binary', 'focal')", name="ck_trade_loss_function"
        ),
        sa.CheckConstraint(
            "exit_reason IN ('take_profit', 'stop_loss', 'horizon', 'kill_switch', 'halt')",
            name="ck_trade_exit_reason",
        ),
        sa.CheckConstraint("side IN ('long', 'short')", name="ck_trade_side"),
        sa.CheckConstraint("source IN ('engine', 'import', 'drill')", name="ck_trade_source"),
        sa.CheckConstraint("exit_time >= entry_time", name="ck_trade_exit_after_entry"),
        sa.CheckConstraint("entry_price > 0 AND exit_price > 0", name="ck_trade_prices_positive"),
    )
    op.create_index(
        "ix_trade_journal_loss_entry",
        "trade_journal",
        ["model_loss_function", "entry_time"],
        postgresql_include=["crypto_symbol", "realized_pnl_pct"],
    )
    op.create_index(
        "ix_trade_journal_symbol_entry", "trade_journal", ["crypto_symbol", "entry_time"]
    )

    ftf_config = op.create_table(
        "ftf_config",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("base_env", JSON_DOC, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=False), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_ftf_config_single_row"),
    )
    op.create_table(
        "ftf_config_history",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer, nullable=False, unique=True),
        sa.Column("changed_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("before_env", JSON_DOC, nullable=False),
        sa.Column("after_env", JSON_DOC, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("before", JSON_DOC, nullable=True),
        sa.Column("after", JSON_DOC, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_target", "audit_log", ["target", "at"])

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert ftf_config is not None
    op.bulk_insert(
        ftf_config, [{"id": 1, "base_env": INITIAL_ENV, "version": 1, "updated_at": now}]
    )
    for table in APPEND_ONLY:
        _forbid_update_delete(table)


def _forbid_update_delete(table: str) -> None:
    """Make `table` append-only in the database itself, not just by convention."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"""
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    for table in ("audit_log", "ftf_config_history", "ftf_config", "trade_journal"):
        op.drop_table(table)
