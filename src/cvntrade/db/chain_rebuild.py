"""(Re)compute a table's whole hash chain: for migrations only, never for the application.

Revision 0010_audit_hash_chain back-fills `prev_hash`/`row_hash` of the rows written before the
chain existed. A later migration that changes a hashed column of existing rows (e.g. back-fills
a new column that is in `HASHED_COLUMNS`) must call `rechain` afterwards, or verify reports the
first changed row. Rows are read in id order by keyset pages, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, bindparam, delete, insert, inspect, select, text, update

from cvntrade.db.chain import GENESIS_HASH, HASHED_COLUMNS, chain_hash
from cvntrade.db.tables import hash_chain_heads, metadata

PAGE_ROWS = 5_000


@contextmanager
def suspended_append_only(conn: Connection, table_name: str) -> Iterator[None]:
    """Lift the triggers that refuse UPDATE on `table_name` for the block (same transaction).

    PostgreSQL: the row trigger of revision 0001 is disabled and re-enabled. SQLite has no
    disabled state: the table's triggers are dropped and re-created from their stored SQL.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ALTER TABLE {table_name} DISABLE TRIGGER {table_name}_append_only"))
        yield
        conn.execute(text(f"ALTER TABLE {table_name} ENABLE TRIGGER {table_name}_append_only"))
        return
    triggers = conn.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": table_name},
    ).all()
    for name, _ in triggers:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _, sql in triggers:
        conn.execute(text(sql))


def rechain(conn: Connection, table_name: str) -> int:
    """Recompute every row's hashes of `table_name` in id order and reset its chain head.

    Hashes the columns of `HASHED_COLUMNS` that exist in the database at this revision (a column
    added later is NULL in these rows, and NULLs are not hashed). Returns the number of rows.
    """
    table = metadata.tables[table_name]
    existing = {column["name"] for column in inspect(conn).get_columns(table_name)}
    columns = tuple(name for name in HASHED_COLUMNS[table_name] if name in existing)
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(prev_hash=bindparam("prev"), row_hash=bindparam("digest"))
    )
    prev, count, last_id = GENESIS_HASH, 0, None
    with suspended_append_only(conn, table_name):
        while True:
            query = select(table.c.id, *(table.c[c] for c in columns)).order_by(table.c.id)
            if last_id is not None:
                query = query.where(table.c.id > last_id)
            rows = conn.execute(query.limit(PAGE_ROWS)).mappings().all()
            if not rows:
                break
            params = []
            for row in rows:
                digest = chain_hash(prev, columns, dict(row))
                params.append({"row_id": row["id"], "prev": prev, "digest": digest})
                prev = digest
            conn.execute(statement, params)
            count += len(rows)
            last_id = rows[-1]["id"]
    conn.execute(delete(hash_chain_heads).where(hash_chain_heads.c.table_name == table_name))
    conn.execute(
        insert(hash_chain_heads).values(table_name=table_name, row_count=count, head_hash=prev)
    )
    return count
