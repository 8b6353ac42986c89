"""Monitoring: signal snapshots and alert events (issue 11).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the issue that owns this revision."""


def downgrade() -> None:
    """Filled in by the issue that owns this revision."""
