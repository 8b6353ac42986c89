"""Table definitions (SQLAlchemy Core). The Alembic migrations create exactly these.

Timestamps are `timestamp without time zone` holding UTC so that the runbook's
`(NOW() AT TIME ZONE 'UTC') - INTERVAL '48 hours'` is correct verbatim on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB

from cvntrade.domain import (
    ChecklistState,
    ExitReason,
    IncidentStatus,
    IntentState,
    LossFunction,
    TradeSource,
)

metadata = MetaData()

JsonDocument = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

LOSS_FUNCTIONS = tuple(loss.value for loss in LossFunction)
EXIT_REASONS = tuple(reason.value for reason in ExitReason)
SIDES = ("long", "short")
TRADE_SOURCES = tuple(source.value for source in TradeSource)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _trade_columns() -> list[Column[Any]]:
    """A closed trade's columns (after `trade_id`), shared by the journal and backtest runs."""
    return [
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
    ]


def _prediction_columns() -> list[Column[Any]]:
    """One model output at a bar's close, shared by `predictions` and backtest runs."""
    return [
        Column("crypto_symbol", String(20), nullable=False),
        Column("strategy", String(40), nullable=False),
        Column("bar_time", DateTime(timezone=False), nullable=False),
        Column("model_name", String(120), nullable=False),
        Column("model_version", Integer, nullable=False),
        Column("model_loss_function", String(10), nullable=False),
        Column("probability", Float, nullable=False),
    ]


# The journal's rows. Readers use the view `trade_journal` (revision 0008, below), which hides
# the rows of an import batch until it is published; writers (engines, drills, imports) write here.
trade_journal_rows = Table(
    "trade_journal_rows",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("trade_id", String(128), nullable=False, unique=True),
    *_trade_columns(),
    Column("source", String(10), nullable=False, server_default="engine"),
    # Revision 0008: NULL for engine and drill rows (visible at once); an imported row's batch.
    Column("import_batch_id", AutoId, nullable=True),
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
        postgresql_include=["crypto_symbol", "realized_pnl_pct", "import_batch_id"],
    ),
    Index("ix_trade_journal_symbol_entry", "crypto_symbol", "entry_time"),
    Index("ix_trade_journal_rows_import_batch", "import_batch_id"),
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
    # Hash chain (revision 0010_audit_hash_chain): see cvntrade.db.chain.
    Column("prev_hash", String(64), nullable=True),
    Column("row_hash", String(64), nullable=True),
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
    # Revision 0008: the incident the row belongs to (replaces the ` [incident #N]` reason tag).
    Column("incident_id", AutoId, ForeignKey("incidents.id"), nullable=True),
    # Hash chain (revision 0010_audit_hash_chain): see cvntrade.db.chain.
    Column("prev_hash", String(64), nullable=True),
    Column("row_hash", String(64), nullable=True),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_target", "target", "at"),
    Index("ix_audit_log_incident", "incident_id", "at"),
)

# --- Operations (revision 0002): engine, predictions, alias events, flags, incidents, sweeps ---

predictions = Table(
    "predictions",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    *_prediction_columns(),
    Column("created_at", DateTime(timezone=False), nullable=False),
    UniqueConstraint("crypto_symbol", "strategy", "bar_time", name="uq_predictions_bar"),
    Index("ix_predictions_symbol_bar", "crypto_symbol", "bar_time"),
)

alias_events = Table(
    "alias_events",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("model_name", String(120), nullable=False),
    Column("alias", String(60), nullable=False),
    Column("version", Integer, nullable=True),
    Column("actor", String(120), nullable=False),
)

engine_status = Table(
    "engine_status",
    metadata,
    Column("engine_id", String(80), primary_key=True),
    Column("crypto_symbol", String(20), primary_key=True),
    Column("strategy", String(40), nullable=False),
    Column("model_name", String(120), nullable=False),
    Column("model_version", Integer, nullable=True),
    Column("model_loss_function", String(10), nullable=True),
    Column("stale", Boolean, nullable=False, server_default=false()),
    Column("mode", String(10), nullable=False),
    Column("heartbeat_at", DateTime(timezone=False), nullable=False),
    # Checkpoint (revision 0003): last committed bar and the position state after it.
    Column("last_bar_time", DateTime(timezone=False), nullable=True),
    Column("state", JsonDocument, nullable=True),
)

trading_flags = Table(
    "trading_flags",
    metadata,
    Column("name", String(20), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
    CheckConstraint("name IN ('kill_switch', 'halt')", name="ck_trading_flags_name"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("alert", String(80), nullable=False),
    Column("severity", String(4), nullable=False),
    Column("status", String(20), nullable=False),
    Column("title", Text, nullable=False),
    Column("opened_at", DateTime(timezone=False), nullable=False),
    Column("opened_by", String(120), nullable=False),
    Column("closed_at", DateTime(timezone=False), nullable=True),
    CheckConstraint(
        _in("status", tuple(status.value for status in IncidentStatus)), name="ck_incident_status"
    ),
)

incident_notes = Table(
    "incident_notes",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("incident_id", AutoId, ForeignKey("incidents.id"), nullable=False),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Column("data", JsonDocument, nullable=True),
    Index("ix_incident_notes_incident", "incident_id", "at"),
)

sweep_results = Table(
    "sweep_results",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("sweep_key", String(64), nullable=False),
    Column("crypto_symbol", String(20), nullable=False),
    Column("strategy", String(40), nullable=False),
    Column("cell", String(40), nullable=False),
    Column("loss_function", String(10), nullable=False),
    Column("gamma", Float, nullable=True),
    Column("alpha", Float, nullable=True),
    Column("fold", Integer, nullable=False),
    Column("metrics", JsonDocument, nullable=False),
    Column("mlflow_run_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=False), nullable=False),
    # `cell` is "binary" or e.g. "focal_g2_a0.25": NULL gamma/alpha would defeat a unique key.
    UniqueConstraint(
        "sweep_key", "crypto_symbol", "strategy", "cell", "fold", name="uq_sweep_cell"
    ),
)


# --- Backtests (revision 0004) ---------------------------------------------------------------
# A backtest (`cvntrade trade replay`) is a run with an id; its trades and predictions live here,
# apart from the production `trade_journal` / `predictions` that the alert and the runbook read.

BACKTEST_STATUSES = ("running", "finished", "failed")

backtest_runs = Table(
    "backtest_runs",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("finished_at", DateTime(timezone=False), nullable=True),
    Column("actor", String(120), nullable=False),
    Column("symbols", JsonDocument, nullable=False),
    Column("strategy", String(40), nullable=False),
    Column("interval", String(10), nullable=False),
    Column("start_time", DateTime(timezone=False), nullable=False),
    Column("end_time", DateTime(timezone=False), nullable=False),
    Column("status", String(10), nullable=False),
    Column("into_journal", Boolean, nullable=False, server_default=false()),
    Column("served_versions", JsonDocument, nullable=True),
    Column("summary", JsonDocument, nullable=True),
    CheckConstraint(_in("status", BACKTEST_STATUSES), name="ck_backtest_run_status"),
    sqlite_autoincrement=True,  # a deleted run's id is never given to a new run
)

backtest_trades = Table(
    "backtest_trades",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("run_id", AutoId, ForeignKey("backtest_runs.id"), nullable=False),
    Column("trade_id", String(128), nullable=False),
    *_trade_columns(),
    CheckConstraint(_in("exit_reason", EXIT_REASONS), name="ck_backtest_trade_exit_reason"),
    UniqueConstraint("run_id", "trade_id", name="uq_backtest_trades_run_trade"),
)

backtest_predictions = Table(
    "backtest_predictions",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("run_id", AutoId, ForeignKey("backtest_runs.id"), nullable=False),
    *_prediction_columns(),
    UniqueConstraint(
        "run_id", "crypto_symbol", "strategy", "bar_time", name="uq_backtest_predictions_bar"
    ),
)


# --- Monitoring (revision 0005) --------------------------------------------------------------

ALERT_STATES = ("pending", "firing", "resolved")

monitor_snapshots = Table(
    "monitor_snapshots",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("crypto_symbol", String(20), nullable=False),  # '' for global signals
    Column("signal", String(60), nullable=False),
    Column("value", Float, nullable=True),
    Column("data", JsonDocument, nullable=True),
    Index("ix_monitor_snapshots_signal", "signal", "crypto_symbol", "at"),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("alert", String(80), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(10), nullable=False),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("labels", JsonDocument, nullable=False),
    Column("values", JsonDocument, nullable=False),
    Column("incident_id", AutoId, ForeignKey("incidents.id"), nullable=True),
    Column("acked_by", String(120), nullable=True),
    Column("acked_at", DateTime(timezone=False), nullable=True),
    Column("ack_reason", Text, nullable=True),
    CheckConstraint(_in("state", ALERT_STATES), name="ck_alert_event_state"),
    Index("ix_alert_events_fingerprint", "fingerprint", "at"),
)


# --- Hardening (revision 0006) ---------------------------------------------------------------


# --- Console users (revision 0007) -----------------------------------------------------------

CONSOLE_ROLES = ("viewer", "operator", "admin")

console_users = Table(
    "console_users",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(10), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
    CheckConstraint(_in("role", CONSOLE_ROLES), name="ck_console_users_role"),
)

console_tokens = Table(
    "console_tokens",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("user_id", AutoId, ForeignKey("console_users.id"), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("label", String(120), nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("revoked", Boolean, nullable=False, server_default=false()),
)


# --- Incident links and checklist (revision 0008_audit_incident_id) -------------------------
# `audit_log.incident_id` is declared with `audit_log` above.

CHECKLIST_STATES = tuple(state.value for state in ChecklistState)

incident_checklist = Table(
    "incident_checklist",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("incident_id", AutoId, ForeignKey("incidents.id"), nullable=False),
    Column("item", String(40), nullable=False),
    Column("state", String(20), nullable=False),
    Column("note", Text, nullable=False),
    Column("data", JsonDocument, nullable=True),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("actor", String(120), nullable=False),
    CheckConstraint(_in("state", CHECKLIST_STATES), name="ck_incident_checklist_state"),
    UniqueConstraint("incident_id", "item", name="uq_incident_checklist_item"),
)
# --- Journal import batches (revision 0009) --------------------------------------------------
# `journal import` writes its rows into `trade_journal_rows` in short transactions under a batch
# in state `staging`, then publishes the batch in one tiny transaction: the view `trade_journal`
# shows a batch's rows only once it is published (all or nothing, docs/storage.md).

IMPORT_BATCH_STATES = ("staging", "discarding", "published")

journal_import_batches = Table(
    "journal_import_batches",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("state", String(10), nullable=False),
    Column("owner", String(64), nullable=False),  # the importer's liveness token
    Column("actor", String(120), nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("published_at", DateTime(timezone=False), nullable=True),
    Column("inserted", Integer, nullable=True),
    CheckConstraint(_in("state", IMPORT_BATCH_STATES), name="ck_journal_import_batches_state"),
    sqlite_autoincrement=True,  # a batch id is never reused: no row can join another batch
)

views = MetaData()
"""Views, created by the migrations (never by `metadata.create_all`)."""

trade_journal = Table(
    "trade_journal",
    views,
    Column("id", AutoId, primary_key=True),
    Column("trade_id", String(128), nullable=False),
    *_trade_columns(),
    Column("source", String(10), nullable=False),
)
"""The view every reader uses: engine and drill rows plus the rows of published imports."""
# --- Audit hash chain (revision 0010_audit_hash_chain) ---------------------------------------
# One row per chained table (`audit_log`, `ftf_config_history`): how many rows the chain holds and
# the hash of the newest one. Appenders lock it (FOR UPDATE) to serialise "read head + insert";
# `cvntrade audit verify` compares it with the last row to catch rows removed from the end.

hash_chain_heads = Table(
    "hash_chain_heads",
    metadata,
    Column("table_name", String(40), primary_key=True),
    Column("row_count", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
)


# --- Alias intents (revision 0011_alias_intents) ---------------------------------------------
# An alias move is recorded here (committed) before the registry is touched, then settled:
# `done` with its audit row, or `abandoned`. See docs/registry.md, "The intent protocol".

INTENT_STATES = tuple(state.value for state in IntentState)

alias_intents = Table(
    "alias_intents",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("model_name", String(120), nullable=False),
    Column("alias", String(60), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(10), nullable=False),
    Column("settled_at", DateTime(timezone=False), nullable=True),
    Column("settled_by", String(120), nullable=True),
    Column("note", Text, nullable=True),
    # the incident whose runbook step moved the alias: its audit row joins that timeline
    Column("incident_id", AutoId, ForeignKey("incidents.id"), nullable=True),
    CheckConstraint(_in("state", INTENT_STATES), name="ck_alias_intents_state"),
    Index("ix_alias_intents_state_model", "state", "model_name"),
)
