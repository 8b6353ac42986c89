"""A hash chain over the append-only tables, so tampering with superuser rights is detectable.

The triggers of revisions 0001/0006 stop the application role from rewriting `audit_log` and
`ftf_config_history`, but a superuser can drop them. Each row therefore also stores

* `prev_hash`: the `row_hash` of the row before it in the chain (`GENESIS_HASH` for the first);
* `row_hash`: SHA-256 over `prev_hash`, a newline and `canonical(row)` (hex).

Changing a row's content breaks its own hash; removing, inserting or moving a row breaks the
link of its neighbour; removing rows from the end disagrees with `hash_chain_heads`, which
records the number of rows and the newest hash. `cvntrade audit verify` (`cvntrade.db.verify`)
walks the chain. An attacker who rewrites every hash after a row is caught only against a head
hash recorded elsewhere (`--anchor`): see docs/storage.md.

The canonical form is frozen: old rows must keep verifying. It covers the columns listed in
`HASHED_COLUMNS`, sorted by name, and leaves out NULLs, so adding a nullable column to a list
keeps every existing row valid (one line: append its name to the tuple).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _quote  # = json.dumps(str)
from typing import Any

from sqlalchemy import JSON, Connection, Table, insert, select, update

from cvntrade.db.tables import hash_chain_heads
from cvntrade.errors import NotInitialisedError

SAFE_INTEGER = 2**53
"""Integers up to this are exact as floats too."""
GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first row of every chain."""

AUDIT_LOG_HASHED = ("at", "actor", "action", "target", "before", "after", "reason", "incident_id")
"""The `audit_log` columns covered by its hash (not `id`: renumbering is not tampering)."""
CONFIG_HISTORY_HASHED = ("version", "changed_at", "actor", "reason", "before_env", "after_env")
"""The `ftf_config_history` columns covered by its hash."""
HASHED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "audit_log": AUDIT_LOG_HASHED,
    "ftf_config_history": CONFIG_HISTORY_HASHED,
}
"""Every chained table and its hashed columns: the single definition write and verify share."""


def canonical(columns: Sequence[str], values: Mapping[str, Any]) -> str:
    """The frozen text form of a row: `{"col":value,...}` sorted by column, NULLs left out.

    Values are written the same way whatever the backend returned: numbers as exact decimal
    mantissa/exponent (so PostgreSQL's JSONB `1e+20` → `100000000000000000000` and SQLite's
    `1e+20` agree), datetimes as naive-UTC ISO text with microseconds, mapping keys sorted.
    """
    names = sorted(columns)
    return _encode(names, [values.get(name) for name in names])


def chain_hash(prev_hash: str, columns: Sequence[str], values: Mapping[str, Any]) -> str:
    """`row_hash` of a row whose predecessor's hash is `prev_hash` (hex SHA-256)."""
    return _digest(prev_hash, canonical(columns, values))


def hash_sorted(prev_hash: str, names: Sequence[str], values: Sequence[Any]) -> str:
    """`chain_hash` for values given in `sorted(columns)` order (verify's fast path)."""
    return _digest(prev_hash, _encode(names, values))


def _encode(names: Sequence[str], values: Sequence[Any]) -> str:
    parts = [
        f"{_quote(name)}:{_top(value)}"
        for name, value in zip(names, values, strict=True)
        if value is not None
    ]
    return "{" + ",".join(parts) + "}"


def _top(value: Any) -> str:
    """A column's value. SQLite gives a JSON column NUMERIC affinity, so a snapshot that is a
    bare number is stored as a number, not as JSON text: an integral float comes back as the
    exact integer (-4.003594466350373e16 → -40035944663503728) and an integer beyond 64 bits as
    a float. So a bare integer beyond 2^53 is written as the float it would become; nested
    numbers are inside JSON text and keep their form. (Two such integers closer than a float's
    resolution hash alike: an edit between them would go unnoticed.)"""
    if type(value) is int and abs(value) > SAFE_INTEGER:
        try:
            return _float(float(value))
        except OverflowError:
            return "Infinity" if value > 0 else "-Infinity"
    return _value(value)


def _digest(prev_hash: str, text: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{text}".encode("ascii")).hexdigest()


def as_stored(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` as they will read back: JSON columns go through a JSON round trip.

    SQLAlchemy serialises JSON columns with `json.dumps`, so tuples come back as lists, enum
    members as their values and integer keys as strings; hashing what will be read back is what
    makes a freshly written row verify.
    """
    stored = dict(values)
    for name, value in values.items():
        if isinstance(table.c[name].type, JSON) and value is not None:
            stored[name] = json.loads(json.dumps(value))
    return stored


def append_chained(conn: Connection, table: Table, values: Mapping[str, Any]) -> str:
    """Insert one row into the chained `table` inside the caller's transaction; its row_hash.

    "Read the head + insert + move the head" must not interleave between writers, or two rows
    would claim the same predecessor. PostgreSQL: the head row is locked FOR UPDATE until the
    transaction ends, so the next writer waits and then reads the new head. SQLite: callers hold
    the database write lock (`write_transaction` begins IMMEDIATE), which serialises everyone.
    Take it last in a transaction (after any other lock) so that lock orders cannot deadlock.
    """
    columns = HASHED_COLUMNS[table.name]
    head = conn.execute(
        select(hash_chain_heads.c.row_count, hash_chain_heads.c.head_hash)
        .where(hash_chain_heads.c.table_name == table.name)
        .with_for_update()
    ).first()
    if head is None:
        raise NotInitialisedError(f"{table.name} has no hash-chain head: run `cvntrade db upgrade`")
    stored = as_stored(table, values)
    row_hash = chain_hash(head.head_hash, columns, stored)
    conn.execute(insert(table).values(**values, prev_hash=head.head_hash, row_hash=row_hash))
    conn.execute(
        update(hash_chain_heads)
        .where(hash_chain_heads.c.table_name == table.name)
        .values(row_count=head.row_count + 1, head_hash=row_hash)
    )
    return row_hash


def _value(value: Any) -> str:
    kind = type(value)  # exact types first: what the drivers return (verify's hot path)
    if kind is str:
        return _quote(value)
    if kind is int:
        return _digits(str(abs(value)), 0, value < 0)
    if kind is float:
        return _float(value)
    if kind is dict:
        items = sorted(value.items())
        return "{" + ",".join(f"{_quote(k)}:{_value(v)}" for k, v in items) + "}"
    if kind is list:
        return "[" + ",".join(map(_value, value)) + "]"
    return _other(value)


def _other(value: Any) -> str:
    """Subclasses and the rarer types (None, bool, Decimal, datetime, tuples, mappings)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote(str(value))
    if isinstance(value, int):
        return _digits(str(abs(int(value))), 0, value < 0)
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return _quote(value.isoformat(timespec="microseconds"))
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{_quote(k)}:{_value(v)}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(map(_value, value)) + "]"
    raise TypeError(f"cannot hash a {type(value).__name__}")


def _float(value: float) -> str:
    """A float as the exact decimal of its shortest repr (what JSON and JSONB store)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    return _digits(whole + fraction, int(exponent or 0) - len(fraction), value < 0)


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        return "NaN" if value.is_nan() else ("Infinity" if value > 0 else "-Infinity")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    return _digits("".join(map(str, digits)), exponent, bool(sign))


def _digits(digits: str, exponent: int, negative: bool) -> str:
    """`digits` times 10^`exponent` as `[-]significant e exponent`: `-15e19`, `25e-2`, `0`."""
    digits = digits.lstrip("0")
    if not digits:
        return "0"  # PostgreSQL's numeric has no negative zero
    significant = digits.rstrip("0")
    exponent += len(digits) - len(significant)
    return f"{'-' if negative else ''}{significant}e{exponent}"
