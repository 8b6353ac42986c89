"""The hash chain's canonical form: backend-independent, unambiguous, extensible by one line."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvntrade.db.chain import (
    AUDIT_LOG_HASHED,
    GENESIS_HASH,
    HASHED_COLUMNS,
    as_stored,
    canonical,
    chain_hash,
)
from cvntrade.db.tables import audit_log, metadata

ROW: dict[str, Any] = {
    "at": dt.datetime(2026, 11, 30, 12, 0, 0, 5),
    "actor": "alice",
    "action": "config.set",
    "target": "ftf_config",
    "before": {"version": 1},
    "after": {"version": 2, "CVN_FOCAL_GAMMA": "3.0"},
    "reason": "why",
}


def _hash(**changes: Any) -> str:
    return chain_hash(GENESIS_HASH, AUDIT_LOG_HASHED, {**ROW, **changes})


@pytest.mark.parametrize(
    ("written", "read_back"),
    [
        (1e20, 10**20),  # PostgreSQL JSONB prints 1e+20 as 100000000000000000000
        (1.0, 1),
        (-0.0, 0),  # numeric has no negative zero
        (1.5e-7, Decimal("0.00000015")),
        (1e308, 10**308),
        # SQLite stores a bare number in a JSON column as a number: the integral float comes
        # back as the exact integer, an integer beyond 64 bits as a float (found by fuzzing).
        (-4.003594466350373e16, -40035944663503728),
        (2**70, float(2**70)),
        (10**400, float("inf")),
        ({"b": 1, "a": [1.0]}, {"a": [1], "b": 1}),
        (dt.datetime(2026, 1, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1))), None),
    ],
)
def test_a_value_and_its_backend_spelling_hash_alike(written: Any, read_back: Any) -> None:
    if isinstance(written, dt.datetime):
        assert _hash(at=written) == _hash(at=dt.datetime(2026, 1, 1, 12))
        return
    assert _hash(after=written) == _hash(after=read_back)


@pytest.mark.parametrize(
    "other",
    [
        {"after": '{"version": 2, "CVN_FOCAL_GAMMA": "3.0"}'},  # JSON text is not the document
        {"after": {"version": "2", "CVN_FOCAL_GAMMA": "3.0"}},
        {"after": {"version": 2.5, "CVN_FOCAL_GAMMA": "3.0"}},
        {"after": {"version": True, "CVN_FOCAL_GAMMA": "3.0"}},
        {"reason": "why "},
        {"actor": "mallory"},
        {"at": dt.datetime(2026, 11, 30, 12, 0, 0, 6)},
        {"before": None},
        {"before": {"version": 1, "x": None}},
    ],
)
def test_any_change_of_content_changes_the_hash(other: dict[str, Any]) -> None:
    assert _hash(**other) != _hash()


def test_the_hash_depends_on_the_predecessor() -> None:
    assert chain_hash("1" * 64, AUDIT_LOG_HASHED, ROW) != chain_hash(
        GENESIS_HASH, AUDIT_LOG_HASHED, ROW
    )


def test_a_new_nullable_column_keeps_old_hashes() -> None:
    """Adding e.g. `incident_id` to AUDIT_LOG_HASHED: rows where it is NULL hash as before."""
    extended = (*AUDIT_LOG_HASHED, "incident_id")
    assert chain_hash(GENESIS_HASH, extended, {**ROW, "incident_id": None}) == _hash()
    assert chain_hash(GENESIS_HASH, extended, {**ROW, "incident_id": 7}) != _hash()


def test_column_order_does_not_matter() -> None:
    assert canonical(AUDIT_LOG_HASHED, ROW) == canonical(tuple(reversed(AUDIT_LOG_HASHED)), ROW)


def test_hashed_columns_exist_and_exclude_the_chain_itself() -> None:
    for table, columns in HASHED_COLUMNS.items():
        names = set(metadata.tables[table].c.keys())
        assert set(columns) <= names
        assert not {"id", "prev_hash", "row_hash"} & set(columns)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(json_values)
def test_what_is_written_hashes_like_what_is_read_back(value: Any) -> None:
    stored = as_stored(audit_log, {**ROW, "after": value})
    assert stored["after"] == json.loads(json.dumps(value))
    reread = json.loads(json.dumps(stored["after"]), parse_float=Decimal)
    assert _hash(after=value) == _hash(after=stored["after"]) == _hash(after=reread)
