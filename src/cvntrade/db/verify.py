"""Walk the hash chains (`cvntrade.db.chain`) and name the first broken row and what is wrong.

Rows are read in id order in keyset pages (memory stays flat whatever the size) inside one
read snapshot (PostgreSQL REPEATABLE READ, an SQLite read transaction), so writers may keep
appending meanwhile. At the first row that does not fit, a few targeted look-ups tell the kinds
of tampering apart (`cvntrade.domain.ChainBreak`):

* changed — the row links to its predecessor but its content no longer matches its hash;
* missing — its predecessor is not in the table any more (or rows after the last are gone);
* inserted — the chain skips it (its predecessor's successor is another row), or it lies
  beyond the chain head;
* reordered — its predecessor in the chain has a larger id (rows moved to other ids).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select

from cvntrade.db.chain import GENESIS_HASH, HASHED_COLUMNS, hash_sorted
from cvntrade.db.tables import hash_chain_heads, metadata
from cvntrade.domain import ChainBreak
from cvntrade.errors import NotInitialisedError

PAGE_ROWS = 5_000


@dataclass(frozen=True, slots=True)
class Broken:
    """The first problem found in a chain: its kind, the row (None: the end) and an explanation."""

    kind: ChainBreak
    row_id: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """One table's verdict: rows walked, the newest row id and hash, and the first problem."""

    table: str
    rows: int
    head_id: int | None
    head_hash: str
    broken: Broken | None = None
    head_rows: int = 0
    limited: bool = False  # stopped after `max_rows`: the rest and the chain's end not checked

    @property
    def intact(self) -> bool:
        """True when every row fits the chain and the chain ends where its head says."""
        return self.broken is None


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Every chain's report, the anchors no chain holds, and how long the walk took."""

    chains: tuple[ChainReport, ...]
    missing_anchors: tuple[str, ...]
    seconds: float

    @property
    def intact(self) -> bool:
        """True when every chain is intact and holds every anchor."""
        return all(c.intact for c in self.chains) and not self.missing_anchors

    @property
    def limited(self) -> bool:
        """True when the walk stopped at its row limit before the end of some chain."""
        return any(c.limited for c in self.chains)


def verify_chains(
    engine: Engine, *, anchors: Iterable[str] = (), max_rows: int | None = None
) -> VerifyReport:
    """Verify every chained table in one read snapshot; `anchors` are hashes that must occur.

    An anchor is a head hash printed by an earlier verify and kept elsewhere: if a superuser
    rewrote history and recomputed every later hash, the old head is no longer in the chain.
    `max_rows` bounds the rows walked over all tables (oldest first, e.g. for `cvntrade
    doctor`, which must answer in seconds); a chain cut short is reported `limited`, its end
    unchecked, and anchors are then only looked for in the rows walked.
    """
    started = time.perf_counter()
    pending = {anchor.strip().lower() for anchor in anchors}
    chains: list[ChainReport] = []
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            for name in HASHED_COLUMNS:
                left = None if max_rows is None else max(0, max_rows - sum(c.rows for c in chains))
                chains.append(_verify_table(conn, name, pending, left))
    return VerifyReport(tuple(chains), tuple(sorted(pending)), time.perf_counter() - started)


def _verify_table(
    conn: Connection, name: str, anchors: set[str], max_rows: int | None
) -> ChainReport:
    table = metadata.tables[name]
    columns = HASHED_COLUMNS[name]
    head = conn.execute(
        select(hash_chain_heads.c.row_count, hash_chain_heads.c.head_hash).where(
            hash_chain_heads.c.table_name == name
        )
    ).first()
    if head is None:
        raise NotInitialisedError(f"{name} has no hash-chain head: run `cvntrade db upgrade`")
    names = tuple(sorted(columns))  # rows come as (id, prev_hash, row_hash, *names)
    query = select(
        table.c.id, table.c.prev_hash, table.c.row_hash, *(table.c[c] for c in names)
    ).order_by(table.c.id)
    expected, count, last_id = GENESIS_HASH, 0, None
    while True:
        page = query if last_id is None else query.where(table.c.id > last_id)
        size = PAGE_ROWS if max_rows is None else min(PAGE_ROWS, max_rows - count + 1)
        rows = conn.execute(page.limit(size)).all()
        if not rows:
            break
        for row in rows:
            if max_rows is not None and count >= max_rows:
                return ChainReport(name, count, last_id, expected, None, head.row_count, True)
            if count < head.row_count:
                if row.prev_hash == expected and _content_ok(row, names):
                    anchors.discard(row.row_hash)
                    expected, count, last_id = row.row_hash, count + 1, row.id
                    continue
                broken = _classify(conn, table, row, names, expected, last_id)
            elif expected == head.head_hash:
                broken = Broken(
                    ChainBreak.INSERTED,
                    row.id,
                    f"row {row.id} lies beyond the chain head ({head.row_count} rows): it "
                    "was not appended by the audit writer",
                )
            else:
                broken = _check_end(head, count, expected, last_id)
            return ChainReport(name, count, last_id, expected, broken, head.row_count)
    intact = count == head.row_count and expected == head.head_hash
    end = None if intact else _check_end(head, count, expected, last_id)
    return ChainReport(name, count, last_id, expected, end, head.row_count)


def _content_ok(row: Any, names: tuple[str, ...]) -> bool:
    """The row's hash matches its predecessor hash and content (`row` as selected above)."""
    if row.prev_hash is None or row.row_hash is None:
        return False
    return bool(hash_sorted(row.prev_hash, names, row[3:]) == row.row_hash)


def _classify(
    conn: Connection,
    table: Table,
    row: Any,
    names: tuple[str, ...],
    expected: str,
    previous_id: int | None,
) -> Broken:
    """Why `row` does not follow `previous_id` (whose hash is `expected`) in the chain."""
    row_id = int(row.id)
    after = f"row {previous_id}" if previous_id is not None else "the start of the chain"
    successor = _first_id(conn, table, table.c.prev_hash == expected, table.c.id > row_id)
    if row.prev_hash == expected:
        if successor is not None:  # two rows claim the same predecessor: this one is extra
            return Broken(
                ChainBreak.INSERTED,
                row_id,
                f"row {row_id} is not in the chain: row {successor} follows {after} directly",
            )
        return Broken(
            ChainBreak.CHANGED,
            row_id,
            f"row {row_id}: its content no longer matches its hash (changed after it was written)",
        )
    predecessor = (
        None if row.prev_hash is None else _first_id(conn, table, table.c.row_hash == row.prev_hash)
    )
    if predecessor is not None and predecessor > row_id:
        return Broken(
            ChainBreak.REORDERED,
            row_id,
            f"row {row_id} follows row {predecessor} in the chain but comes before it "
            "(rows were moved to other ids)",
        )
    if predecessor is not None:  # the chain goes predecessor → row: rows in between are extra
        first = _first_id(conn, table, table.c.id > predecessor)
        return Broken(
            ChainBreak.INSERTED,
            first,
            f"row {first} is not in the chain: row {row_id} follows row {predecessor} directly",
        )
    if successor is not None:
        return Broken(
            ChainBreak.INSERTED,
            row_id,
            f"row {row_id} is not in the chain: it continues at row {successor} after {after}",
        )
    if not _content_ok(row, names):
        return Broken(
            ChainBreak.CHANGED,
            row_id,
            f"row {row_id}: its hash columns no longer match its content (rewritten)",
        )
    return Broken(
        ChainBreak.MISSING,
        row_id,
        f"row(s) missing between {after} and row {row_id}: its predecessor in the chain is no "
        "longer in the table",
    )


def _check_end(head: Any, count: int, last_hash: str, last_id: int | None) -> Broken:
    """The chain does not end where `hash_chain_heads` says it does: how not."""
    where = f"after row {last_id}" if last_id is not None else "(the table is empty)"
    if count < head.row_count:
        return Broken(
            ChainBreak.MISSING,
            None,
            f"the chain head records {head.row_count} rows but {count} remain: the last "
            f"{head.row_count - count} row(s) {where} are missing",
        )
    return Broken(
        ChainBreak.CHANGED,
        None,
        f"the chain ends in a hash its head does not record ({count} rows {where}): rows were "
        "rewritten with recomputed hashes, or the head was changed",
    )


def _first_id(conn: Connection, table: Table, *conditions: Any) -> int | None:
    value = conn.execute(select(func.min(table.c.id)).where(*conditions)).scalar()
    return None if value is None else int(value)
