"""Hostile snapshot values round-trip through both backends and still verify.

JSONB rewrites numbers (`1e+20` → `100000000000000000000`), reorders keys and drops nothing
else; SQLite stores the text. Whatever `write_audit` accepts, the row it writes must verify, or
`cvntrade audit verify` would cry wolf on an honest trail.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.db import write_transaction
from cvntrade.db.verify import verify_chains

# PostgreSQL text cannot hold NUL and JSON cannot hold lone surrogates.
safe_text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e20, 1e308, -0.0, 5e-324, 1.5e-7, 0.1, 2**53 + 1, 2**64, -4.5e16])
    | safe_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(safe_text, inner, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(before=json_values, after=json_values, micro=st.integers(0, 999_999))
@example(before=2.2e-311, after=-4.003594466350373e16, micro=1)  # SQLite: integral float → int
@example(before=2**70, after=-(2**64), micro=2)  # SQLite: integer beyond 64 bits → float
def test_any_snapshot_written_verifies(engine: Engine, before: Any, after: Any, micro: int) -> None:
    with write_transaction(engine) as conn:
        write_audit(
            conn,
            AuditEntry(
                dt.datetime(2026, 11, 30, 12, 0, 0, micro),
                "fuzzer",
                "test.values",
                "t",
                "hostile snapshot",
                before=before,
                after=after,
            ),
        )
    report = verify_chains(engine)
    assert report.intact, [(c.table, c.rows, c.broken) for c in report.chains]
