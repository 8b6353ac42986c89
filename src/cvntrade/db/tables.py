"""Table definitions (SQLAlchemy Core). The Alembic migrations create exactly these.

Timestamps are `timestamp without time zone` holding UTC so that the runbook's
`(NOW() AT TIME ZONE 'UTC') - INTERVAL '48 hours'` is correct verbatim on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

JsonDocument = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

LOSS_FUNCTIONS = ("binary", "focal")
EXIT_REASONS = ("take_profit", "stop_loss", "horizon", "kill_switch", "halt")
SIDES = ("long", "short")
TRADE_SOURCES = ("engine", "import", "drill")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


trade_journal = Table(
    "trade_journal",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("trade_id", String(128), nullable=False, unique=True),
    Column("crypto_symbol", String(20), nullable=False),
    Column("strategy", String(40), nullable=False),
    Column("model_name", String(120), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("model_loss_function", String(10), nullable=False),
    Column("side", String(5), nullable=False, server_default="long"),
    Column("entry_time", DateTime(timezone=False), nullable=False),
    Column("exit_time", DateTime(timezone=False), nullable=False),
    Column("entry_price", Float, nullable=False),
    Column("exit_price", Float, nullable=False),
    Column("exit_reason", String(12), nullable=False),
    Column("fees_pct", Float, nullable=False),
    Column("realized_pnl_pct", Float, nullable=False),
    Column("probability", Float, nullable=True),
    Column("source", String(10), nullable=False, server_default="engine"),
    CheckConstraint(_in("model_loss_function", LOSS_FUNCTIONS), name="ck_trade_loss_function"),
    CheckConstraint(_in("exit_reason", EXIT_REASONS), name="ck_trade_exit_reason"),
    CheckConstraint(_in("side", SIDES), name="ck_trade_side"),
    CheckConstraint(_in("source", TRADE_SOURCES), name="ck_trade_source"),
    CheckConstraint("exit_time >= entry_time", name="ck_trade_exit_after_entry"),
    CheckConstraint("entry_price > 0 AND exit_price > 0", name="ck_trade_prices_positive"),
    # Runbook step 1 and the per-fold analysis filter on loss + entry_time and read symbol + pnl:
    # this covering index lets PostgreSQL answer them with an index-only scan.
    Index(
        "ix_trade_journal_loss_entry",
        "model_loss_function",
        "entry_time",
        postgresql_include=["crypto_symbol", "realized_pnl_pct"],
    ),
    Index("ix_trade_journal_symbol_entry", "crypto_symbol", "entry_time"),
)

ftf_config = Table(
    "ftf_config",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("base_env", JsonDocument, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
    CheckConstraint("id = 1", name="ck_ftf_config_single_row"),
)

ftf_config_history = Table(
    "ftf_config_history",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("version", Integer, nullable=False, unique=True),
    Column("changed_at", DateTime(timezone=False), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("reason", Text, nullable=False),
    Column("before_env", JsonDocument, nullable=False),
    Column("after_env", JsonDocument, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(60), nullable=False),
    Column("target", String(200), nullable=False),
    Column("before", JsonDocument, nullable=True),
    Column("after", JsonDocument, nullable=True),
    Column("reason", Text, nullable=False),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_target", "target", "at"),
)
