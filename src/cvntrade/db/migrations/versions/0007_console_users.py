"""Console users, roles and API tokens (issue 13).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the issue that owns this revision."""


def downgrade() -> None:
    """Filled in by the issue that owns this revision."""
