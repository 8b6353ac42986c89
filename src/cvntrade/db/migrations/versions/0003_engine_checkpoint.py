"""Engine checkpoint: the last bar an engine committed per symbol and its position state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("engine_status", sa.Column("last_bar_time", sa.DateTime(timezone=False)))
    op.add_column("engine_status", sa.Column("state", JSON_DOC))


def downgrade() -> None:
    with op.batch_alter_table("engine_status") as batch:
        batch.drop_column("state")
        batch.drop_column("last_bar_time")
