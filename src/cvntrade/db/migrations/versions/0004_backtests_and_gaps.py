"""Backtests apart from production, and the `data_gap` exit reason.

`cvntrade trade replay` records a backtest run (`backtest_runs`) whose trades and predictions go
to `backtest_trades` / `backtest_predictions`, never to the production `trade_journal` /
`predictions` that the alert, `expectancy` and the runbook read.

A position is closed with `exit_reason = 'data_gap'` when the market data has a gap longer than
the strategy's horizon (the engine never carries a position across it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_EXIT_REASONS = "('take_profit', 'stop_loss', 'horizon', 'kill_switch', 'halt')"
NEW_EXIT_REASONS = "('take_profit', 'stop_loss', 'horizon', 'kill_switch', 'halt', 'data_gap')"
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")


def _exit_reason_check(values: str) -> None:
    with op.batch_alter_table("trade_journal") as batch:
        batch.drop_constraint("ck_trade_exit_reason", type_="check")
        batch.create_check_constraint("ck_trade_exit_reason", f"exit_reason IN {values}")


def _model_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("crypto_symbol", sa.String(20), nullable=False),
        sa.Column("strategy", sa.String(40), nullable=False),
    ]


def upgrade() -> None:
    _exit_reason_check(NEW_EXIT_REASONS)
    op.create_table(
        "backtest_runs",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("symbols", JSON_DOC, nullable=False),
        sa.Column("strategy", sa.String(40), nullable=False),
        sa.Column("interval", sa.String(10), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=False), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=False), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("into_journal", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("served_versions", JSON_DOC, nullable=True),
        sa.Column("summary", JSON_DOC, nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'failed')", name="ck_backtest_run_status"
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "backtest_trades",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", AUTO_ID, sa.ForeignKey("backtest_runs.id"), nullable=False),
        sa.Column("trade_id", sa.String(128), nullable=False),
        *_model_columns(),
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
        sa.CheckConstraint(
            f"exit_reason IN {NEW_EXIT_REASONS}", name="ck_backtest_trade_exit_reason"
        ),
        sa.UniqueConstraint("run_id", "trade_id", name="uq_backtest_trades_run_trade"),
    )
    op.create_table(
        "backtest_predictions",
        sa.Column("id", AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", AUTO_ID, sa.ForeignKey("backtest_runs.id"), nullable=False),
        *_model_columns(),
        sa.Column("bar_time", sa.DateTime(timezone=False), nullable=False),
        sa.Column("model_name", sa.String(120), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("model_loss_function", sa.String(10), nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.UniqueConstraint(
            "run_id", "crypto_symbol", "strategy", "bar_time", name="uq_backtest_predictions_bar"
        ),
    )


def downgrade() -> None:
    op.drop_table("backtest_predictions")
    op.drop_table("backtest_trades")
    op.drop_table("backtest_runs")
    _exit_reason_check(OLD_EXIT_REASONS)
