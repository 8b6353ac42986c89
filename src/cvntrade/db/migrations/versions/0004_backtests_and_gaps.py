"""Backtests apart from production, and the `data_gap` exit reason.

A position is closed with `exit_reason = 'data_gap'` when the market data has a gap longer than
the strategy's horizon (the engine never carries a position across it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_EXIT_REASONS = "('take_profit', 'stop_loss', 'horizon', 'kill_switch', 'halt')"
NEW_EXIT_REASONS = "('take_profit', 'stop_loss', 'horizon', 'kill_switch', 'halt', 'data_gap')"


def _exit_reason_check(values: str) -> None:
    with op.batch_alter_table("trade_journal") as batch:
        batch.drop_constraint("ck_trade_exit_reason", type_="check")
        batch.create_check_constraint("ck_trade_exit_reason", f"exit_reason IN {values}")


def upgrade() -> None:
    _exit_reason_check(NEW_EXIT_REASONS)


def downgrade() -> None:
    _exit_reason_check(OLD_EXIT_REASONS)
