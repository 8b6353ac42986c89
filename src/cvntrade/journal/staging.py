"""The import staging table: validated rows wait here until one short final transaction.

`journal import` streams a file through validation in chunks and stages each chunk in a
per-connection TEMPORARY table. On SQLite the temporary database is separate from the main
file, so staging never takes the journal's write lock; the only locked moment is the final
`INSERT ... SELECT` (plus the conflict check) inside one `BEGIN IMMEDIATE` transaction. On
PostgreSQL the temporary table is private to the session. Either way the journal sees all rows
of an import or none of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Table,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)

from cvntrade.db.tables import trade_journal
from cvntrade.journal.records import Trade

_TRADE_COLUMNS = tuple(name for name in Trade.__dataclass_fields__ if name != "source")
_COMPARED = tuple(name for name in _TRADE_COLUMNS if name != "trade_id")


def staging_table() -> Table:
    """A TEMPORARY table with the journal's trade columns plus the file index and row number."""
    return Table(
        "cvn_import_staging",
        MetaData(),
        Column("file_index", Integer, nullable=False),
        Column("row_number", Integer, nullable=False),
        *(Column(name, trade_journal.c[name].type) for name in _TRADE_COLUMNS),
        prefixes=["TEMPORARY"],
    )


def create_staging(conn: Connection, table: Table) -> None:
    """(Re)create the staging table on this connection, outside any journal write lock."""
    conn.execute(text(f"DROP TABLE IF EXISTS {table.name}"))
    table.create(conn)


def drop_staging(conn: Connection, table: Table) -> None:
    """Drop the staging table (pooled connections would otherwise keep it)."""
    conn.execute(text(f"DROP TABLE IF EXISTS {table.name}"))


def stage(
    conn: Connection, table: Table, file_index: int, rows: Sequence[tuple[int, Trade]]
) -> None:
    """Append validated `(row_number, trade)` pairs of file `file_index` to the staging table."""
    if rows:
        conn.execute(
            insert(table),
            [
                {"file_index": file_index, "row_number": number}
                | {name: getattr(trade, name) for name in _TRADE_COLUMNS}
                for number, trade in rows
            ],
        )


def first_changed(conn: Connection, table: Table) -> tuple[int, int, str] | None:
    """The first staged row whose trade_id is in the journal with different values, if any."""
    s, j = table.c, trade_journal.c
    differs = or_(*(j[name].is_distinct_from(s[name]) for name in _COMPARED))
    query = (
        select(s.file_index, s.row_number, s.trade_id)
        .join(trade_journal, j.trade_id == s.trade_id)
        .where(differs)
        .order_by(s.file_index, s.row_number)
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else (int(row[0]), int(row[1]), str(row[2]))


def already_present(conn: Connection, table: Table) -> dict[int, int]:
    """How many staged rows per file are already in the journal (identical, so skipped)."""
    s, j = table.c, trade_journal.c
    query = (
        select(s.file_index, func.count())
        .join(trade_journal, j.trade_id == s.trade_id)
        .group_by(s.file_index)
    )
    return {int(index): int(count) for index, count in conn.execute(query).all()}


def publish(conn: Connection, table: Table, source: str) -> None:
    """Copy the staged trades not yet in the journal into it, in one statement."""
    s, j = table.c, trade_journal.c
    fresh = select(*(s[name] for name in _TRADE_COLUMNS), literal(source)).where(
        s.trade_id.not_in(select(j.trade_id))
    )
    conn.execute(insert(trade_journal).from_select([*_TRADE_COLUMNS, "source"], fresh))


def lock_journal_import(conn: Connection) -> None:
    """Serialise final import transactions (PostgreSQL advisory lock; SQLite's write lock).

    A parallel import of the same file then sees the winner's committed rows and skips them
    instead of failing on the unique index.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended('cvntrade.journal.import', 0))")
        )
