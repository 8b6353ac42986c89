"""What a production engine writes: trades, predictions and its heartbeat, idempotently.

Trades are keyed by `trade_id` (symbol, strategy, entry bar) and predictions by (symbol,
strategy, bar), so a restarted engine that re-lives bars writes nothing twice. Every write
returns the number of rows it actually inserted (never the number it attempted), so reports
count rows, not intentions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import engine_status, predictions, trade_journal_rows
from cvntrade.journal.records import Trade


@dataclass(frozen=True, slots=True)
class PredictionRow:
    """One model output at a bar's close (used for calibration and sharpness monitoring)."""

    crypto_symbol: str
    strategy: str
    bar_time: dt.datetime
    model_name: str
    model_version: int
    model_loss_function: str
    probability: float


@dataclass(frozen=True, slots=True)
class StatusRow:
    """The engine's heartbeat for one symbol: which champion version it serves."""

    engine_id: str
    crypto_symbol: str
    strategy: str
    model_name: str
    model_version: int | None
    model_loss_function: str | None
    stale: bool
    mode: str
    heartbeat_at: dt.datetime
    last_bar_time: dt.datetime | None = None
    state: dict[str, Any] | None = None


def ms_to_datetime(ms: int) -> dt.datetime:
    """Milliseconds since the epoch (UTC) → naive UTC datetime."""
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(ms))


def insert_ignoring_duplicates(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: Sequence[str]
) -> int:
    """Insert `rows`, skipping those whose `keys` already exist; returns the rows inserted."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=list(keys))
        .returning(table.c.id)
    )
    return len(conn.execute(statement, rows).all())


def _upsert_status(conn: Connection, rows: Sequence[StatusRow]) -> None:
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(engine_status)
    keys = {"engine_id", "crypto_symbol"}
    updated = {c.name: statement.excluded[c.name] for c in engine_status.c if c.name not in keys}
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["engine_id", "crypto_symbol"], set_=updated
        ),
        [asdict_slots(row) for row in rows],
    )


def asdict_slots(row: object) -> dict[str, Any]:
    """A slotted dataclass record as a row dict (field name → value)."""
    return {name: getattr(row, name) for name in row.__slots__}  # type: ignore[attr-defined]


def write_block(
    db: Engine,
    trades: Sequence[Trade],
    prediction_rows: Sequence[PredictionRow],
    status: Sequence[StatusRow],
) -> tuple[int, int]:
    """Commit closed trades, predictions and heartbeats (with checkpoints) in one transaction.

    The checkpoint in each heartbeat is the state after the last bar whose trades and
    predictions are in this same commit, so a restart resumes exactly there. Returns the
    trades and predictions inserted (rows already stored are skipped, not counted).
    """
    with write_transaction(db) as conn:
        written_trades = insert_ignoring_duplicates(
            conn, trade_journal_rows, [t.as_row() for t in trades], ["trade_id"]
        )
        written_predictions = insert_ignoring_duplicates(
            conn,
            predictions,
            [
                {**asdict_slots(p), "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)}
                for p in prediction_rows
            ],
            ["crypto_symbol", "strategy", "bar_time"],
        )
        _upsert_status(conn, status)
    return written_trades, written_predictions


def served_versions(db: Engine, engine_id: str | None = None) -> list[StatusRow]:
    """Every engine's heartbeat rows (optionally one engine's), for status and propagation."""
    query = select(engine_status).order_by(engine_status.c.engine_id, engine_status.c.crypto_symbol)
    if engine_id is not None:
        query = query.where(engine_status.c.engine_id == engine_id)
    with db.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [StatusRow(**dict(row)) for row in rows]


STOPPED = "stopped"
"""`engine_status.mode` of an engine's last heartbeat when it stopped serving (a clean stop)."""
ENGINE_HEARTBEAT_MAX_AGE = dt.timedelta(minutes=15)
"""An engine whose last heartbeat is older than this no longer serves (crashed or gone)."""


def live_status(
    db: Engine, *, now: dt.datetime, max_age: dt.timedelta = ENGINE_HEARTBEAT_MAX_AGE
) -> list[StatusRow]:
    """Heartbeat rows of the engines that serve now: not stopped, heartbeat within `max_age`.

    The one definition of "an engine serves" that the alert's `focal_loss_active`, runbook
    step 2 and `doctor` share (a stopped or long-silent engine's last row is history).
    """
    return [
        row
        for row in served_versions(db)
        if row.mode != STOPPED and now - row.heartbeat_at <= max_age
    ]


def checkpoints(db: Engine, engine_id: str) -> dict[str, StatusRow]:
    """The last committed checkpoint of each symbol of engine `engine_id`."""
    return {row.crypto_symbol: row for row in served_versions(db, engine_id)}
