"""Hardening: append-only audit for real, audit rows linked to incidents (issue 16).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in by the issue that owns this revision."""


def downgrade() -> None:
    """Filled in by the issue that owns this revision."""
