"""Reading and writing journal rows: reads through the view `trade_journal`, writes into
`trade_journal_rows` (imports have their own module, `cvntrade.journal.import_batches`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine, delete, func, insert, select

from cvntrade.db.tables import trade_journal, trade_journal_rows
from cvntrade.journal.records import Trade

INSERT_CHUNK = 5_000
LOOKUP_CHUNK = 900  # stays below SQLite's bound-parameter limit

_TRADE_COLUMNS = tuple(Trade.__dataclass_fields__)


def insert_trades(conn: Connection, trades: Sequence[Trade]) -> int:
    """Insert `trades` inside the caller's transaction; returns how many rows were written."""
    for start in range(0, len(trades), INSERT_CHUNK):
        chunk = trades[start : start + INSERT_CHUNK]
        conn.execute(insert(trade_journal_rows), [t.as_row() for t in chunk])
    return len(trades)


def existing_trades(conn: Connection, trade_ids: Iterable[str]) -> dict[str, Trade]:
    """The stored trades among `trade_ids`, keyed by id (used for idempotent imports)."""
    ids = list(trade_ids)
    found: dict[str, Trade] = {}
    columns = [trade_journal.c[name] for name in _TRADE_COLUMNS]
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        rows = conn.execute(select(*columns).where(trade_journal.c.trade_id.in_(chunk))).all()
        for row in rows:
            found[row.trade_id] = Trade(**row._asdict())
    return found


def delete_trades_from_source(conn: Connection, source: str) -> int:
    """Remove every trade written by `source` (drills replace their previous history)."""
    rows = trade_journal_rows
    result = conn.execute(delete(rows).where(rows.c.source == source))
    return int(result.rowcount or 0)


def count_trades(engine: Engine) -> int:
    """How many trades the journal holds."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(trade_journal)).scalar_one())


def count_drill_trades_since(engine: Engine, since: object) -> int:
    """How many rehearsal trades (`source = 'drill'`) were entered at or after `since` (UTC).

    Decisions derived from a window holding drill rows are rehearsals, never production moves.
    """
    tj = trade_journal.c
    query = select(func.count()).where(tj.source == "drill", tj.entry_time >= since)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
