"""Import batches in the database: open one, stage rows in short transactions, publish it.

Staged rows go straight into `trade_journal_rows` with the batch's id; the view `trade_journal`
shows them only once the batch is `published`, which one tiny transaction does. Every write here
is a short transaction (at most `WRITE_BUDGET_S` of inserts or `DELETE_CHUNK` deletions), and on
SQLite `WriteTurns` leaves a gap after each one so that a waiting writer (e.g. `config set`)
always gets its turn.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection, String, any_, bindparam, delete, func, insert, select, update
from sqlalchemy import literal_column as column
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.db.tables import journal_import_batches, trade_journal_rows
from cvntrade.domain import TradeSource
from cvntrade.errors import ConflictError
from cvntrade.journal.batch_owner import forget_owner, owner_alive, sweep_dead_owner_files
from cvntrade.journal.fast_checks import TRADE_SCHEMA

TURN_GAP_S = 0.15
"""Pause between two write transactions of an import on SQLite (see `WriteTurns`)."""
WRITE_BUDGET_S = 0.3
"""Wall time after which a write transaction of an import takes no further part (SQLite)."""
PART_ROWS = 1_000
IMPORT_CACHE_KIB = 64 * 1024
DELETE_CHUNK = 2_000
DISCARDABLE = ("staging", "discarding")
_COMPARED = tuple(name for name in TRADE_SCHEMA.names if name != "trade_id")
_INSERT_COLUMNS = (*TRADE_SCHEMA.names, "source", "import_batch_id")
_RACE = (
    "another writer added some of these trades at the same time; nothing was imported by this "
    "run: run it again (identical trades are then skipped)"
)


class WriteTurns:
    """The import's connection, giving out short transactions with a turn for other writers.

    SQLite's write lock is not queued: a writer that finds it taken sleeps in its busy handler
    (up to 100 ms between attempts) and an importer that started its next transaction at once
    could keep it out for as long as the import runs. Leaving `TURN_GAP_S` between two of the
    import's write transactions guarantees every waiting writer an attempt while the lock is
    free, so it waits for at most one of the import's (short) transactions.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self._last_write = -TURN_GAP_S

    @contextmanager
    def large_cache(self) -> Iterator[None]:
        """A bigger SQLite page cache on this connection while the import runs (fewer index
        page reads per inserted row), back to the default afterwards (pooled connections)."""
        if self.sqlite:
            self.conn.exec_driver_sql(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")
            self.conn.commit()
        try:
            yield
        finally:
            if self.sqlite:
                with contextlib.suppress(DBAPIError):  # cosmetic: never hide the real outcome
                    self.conn.rollback()
                    self.conn.exec_driver_sql("PRAGMA cache_size=-2000")
                    self.conn.commit()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """A transaction on the import's connection (SQLite `BEGIN IMMEDIATE` when writing)."""
        if self.sqlite and write:
            time.sleep(max(0.0, self._last_write + TURN_GAP_S - time.monotonic()))
        self.conn.execution_options(sqlite_begin="IMMEDIATE" if write else "")
        try:
            with self.conn.begin():
                yield self.conn
        finally:
            if write:
                self._last_write = time.monotonic()


@dataclass(frozen=True)
class Staged:
    """What staging one chunk did, or why it stopped (then nothing of the chunk was written)."""

    inserted: int = 0
    skipped: int = 0
    changed: tuple[int, str] | None = None  # (row, trade_id) known with other values
    busy_batch: int | None = None  # a running import's batch holds one of these trade_ids


def open_batch(turns: WriteTurns, owner: str, actor: str, now: dt.datetime) -> int:
    """A new batch in state `staging`, owned by the token `owner` (see `batch_owner`)."""
    with turns.transaction() as conn:
        row = conn.execute(
            insert(journal_import_batches)
            .values(state="staging", owner=owner, actor=actor, created_at=now)
            .returning(journal_import_batches.c.id)
        )
        return int(row.scalar_one())


def stage_rows(turns: WriteTurns, batch_id: int, table: pa.Table) -> Staged:
    """Write the new trades of `table` into the batch; skip known identical ones.

    The chunk is first compared with what is stored, without any lock; a trade_id already
    visible with other values, or held by another running import, stops the staging and is
    reported in the result (the batch is then discarded). The new rows are then written in
    parts of `PART_ROWS`; on SQLite a transaction takes no further part after
    `WRITE_BUDGET_S`, so however slow the machine no transaction holds the write lock for much
    longer than that. A trade_id written by someone else in between fails its insert on the
    unique index: `ConflictError`, nothing of this import visible.
    """
    if not table.num_rows:
        return Staged()
    with turns.transaction(write=False) as conn:
        outcome, fresh = _compare_with_known(conn, table)
    if outcome.changed is not None or outcome.busy_batch is not None:
        return outcome
    part_rows = PART_ROWS if turns.sqlite else max(fresh.num_rows, 1)
    start = 0
    try:
        while start < fresh.num_rows:
            with turns.transaction() as conn:
                began = time.monotonic()
                while start < fresh.num_rows:
                    _insert(conn, fresh.slice(start, part_rows), batch_id)
                    start += part_rows
                    if time.monotonic() - began >= WRITE_BUDGET_S:
                        break
    except IntegrityError:  # another writer took one of these trade_ids since the comparison
        raise ConflictError(_RACE) from None
    return outcome


def _compare_with_known(conn: Connection, table: pa.Table) -> tuple[Staged, pa.Table]:
    ids = table.column("trade_id").to_pylist()
    rows, batches = trade_journal_rows, journal_import_batches
    query = (
        select(rows.c.trade_id, rows.c.import_batch_id, batches.c.state, *rows.c[_COMPARED])
        .select_from(rows.outerjoin(batches, batches.c.id == rows.c.import_batch_id))
        .where(_id_in(conn, ids))
    )
    known = {row[0]: tuple(row) for row in conn.execute(query, {"ids": _ids_param(conn, ids)})}
    if not known:
        return Staged(inserted=table.num_rows), table
    present = np.fromiter((trade_id in known for trade_id in ids), dtype=bool, count=len(ids))
    stored = table.filter(pa.array(present))
    columns = [_python_values(stored.column(name)) for name in ("trade_id", "row", *_COMPARED)]
    changed = None
    for trade_id, row, *values in zip(*columns, strict=True):
        old = known[trade_id]
        if old[1] is not None and old[2] != "published":
            return Staged(busy_batch=int(old[1])), table.slice(0, 0)
        if changed is None and tuple(values) != old[3:]:
            changed = (int(row), str(trade_id))
    fresh = table.filter(pa.array(~present))
    return Staged(inserted=fresh.num_rows, skipped=stored.num_rows, changed=changed), fresh


def _python_values(column: pa.ChunkedArray) -> list[object]:
    """Python values as the database driver returns them (datetime for timestamps)."""
    if column.null_count == 0 and not pa.types.is_string(column.type):
        return list(column.to_numpy().tolist())
    return list(column.to_pylist())


def _id_in(conn: Connection, ids: list[str]) -> ColumnElement[bool]:
    trade_id = trade_journal_rows.c.trade_id
    if conn.dialect.name == "postgresql":
        return trade_id == any_(bindparam("ids", type_=ARRAY(String)))
    return trade_id.in_(select(column("value")).select_from(func.json_each(bindparam("ids"))))


def _ids_param(conn: Connection, ids: list[str]) -> object:
    return ids if conn.dialect.name == "postgresql" else json.dumps(ids)


def _insert(conn: Connection, table: pa.Table, batch_id: int) -> None:
    n = table.num_rows
    columns = {name: table.column(name) for name in TRADE_SCHEMA.names}
    for name in ("entry_time", "exit_time"):
        columns[name] = columns[name].cast(pa.string())  # 2026-11-24 12:00:00.000000
    columns["source"] = pa.array([TradeSource.IMPORT.value] * n, pa.string())
    columns["import_batch_id"] = pa.array(np.full(n, batch_id, dtype=np.int64))
    names = ", ".join(_INSERT_COLUMNS)
    if conn.dialect.name == "postgresql":
        buffer = io.BytesIO()
        pacsv.write_csv(
            pa.table([columns[c] for c in _INSERT_COLUMNS], names=list(_INSERT_COLUMNS)),
            buffer,
            pacsv.WriteOptions(include_header=False),
        )
        statement = f"COPY trade_journal_rows ({names}) FROM STDIN (FORMAT csv)"
        dbapi = conn.dialect.loaded_dbapi
        try:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(statement) as copy:
                copy.write(buffer.getvalue())
        except dbapi.Error as exc:  # the driver's own error: give it SQLAlchemy's type
            raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc
        return
    values = [columns[c].to_pylist() for c in _INSERT_COLUMNS]
    marks = ", ".join("?" for _ in _INSERT_COLUMNS)
    conn.exec_driver_sql(
        f"INSERT INTO trade_journal_rows ({names}) VALUES ({marks})",
        list(zip(*values, strict=True)),
    )


def publish_batch(
    turns: WriteTurns, batch_id: int, expected: int, audit: AuditEntry, now: dt.datetime
) -> None:
    """Make the batch's rows visible at once, with its audit row, in one tiny transaction.

    The batch must hold exactly the `expected` rows (counted before, without any lock) and
    still be `staging` when it flips (rows are only ever deleted after a batch left `staging`):
    anything else means it was removed or tampered with, and nothing is published.
    """
    batches, rows = journal_import_batches, trade_journal_rows
    with turns.transaction(write=False) as conn:
        count = conn.execute(
            select(func.count()).select_from(rows).where(rows.c.import_batch_id == batch_id)
        ).scalar_one()
    with turns.transaction() as conn:
        flipped = conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.state == "staging")
            .values(state="published", published_at=now, inserted=expected)
        ).rowcount
        if flipped != 1 or count != expected:
            raise ConflictError(
                f"import batch {batch_id} changed under this import ({count} of {expected} "
                "rows, or no longer staging); nothing was imported: run it again"
            )
        write_audit(conn, audit)


def discard_batch(turns: WriteTurns, batch_id: int) -> None:
    """Remove an unpublished batch: mark it `discarding`, delete its rows a few thousand per
    transaction, then the batch itself. A published batch is never touched."""
    batches, rows = journal_import_batches, trade_journal_rows
    with turns.transaction() as conn:
        marked = conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.state.in_(DISCARDABLE))
            .values(state="discarding")
        ).rowcount
    if not marked:
        return  # published, or already gone
    while True:
        with turns.transaction() as conn:
            victims = select(rows.c.id).where(rows.c.import_batch_id == batch_id)
            deleted = conn.execute(
                delete(rows).where(rows.c.id.in_(victims.limit(DELETE_CHUNK)))
            ).rowcount
            if deleted < DELETE_CHUNK:
                conn.execute(delete(batches).where(batches.c.id == batch_id))
                return


def recover_stale_batches(turns: WriteTurns) -> list[int]:
    """Discard the batches of imports that died before publishing (their rows never showed),
    or whose removal was itself interrupted."""
    batches = journal_import_batches
    with turns.transaction(write=False) as conn:
        staging = conn.execute(
            select(batches.c.id, batches.c.owner).where(batches.c.state.in_(DISCARDABLE))
        ).all()
    removed = []
    for batch_id, owner in staging:
        if not owner_alive(turns.conn, owner):
            discard_batch(turns, int(batch_id))
            forget_owner(turns.conn, owner)
            removed.append(int(batch_id))
    sweep_dead_owner_files(turns.conn)
    return removed
