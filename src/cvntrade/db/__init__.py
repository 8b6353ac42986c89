"""Storage: SQLAlchemy engine, table definitions and Alembic migrations (SQLite and PostgreSQL)."""

from cvntrade.db.engine import create_db_engine, write_transaction
from cvntrade.db.migrate import current_revision, head_revision, require_current, upgrade

__all__ = [
    "create_db_engine",
    "current_revision",
    "head_revision",
    "require_current",
    "upgrade",
    "write_transaction",
]
