"""Issue 16: `cvntrade doctor` walks at most `DOCTOR_CHAIN_ROWS` rows of the hash chains.

Above that it warns (never fails) and points to `cvntrade audit verify` for the full walk; a
break inside the rows it walked still fails. Seven audit rows and two config-history rows are
written through the application, and the limit is lowered so the cut falls inside them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from chain_tamper import tamper
from cvntrade.audit import AuditEntry, write_audit
from cvntrade.config import set_config
from cvntrade.db import write_transaction
from cvntrade.db.verify import verify_chains
from cvntrade.doctor.audit_check import DOCTOR_CHAIN_ROWS, check_audit_chain
from cvntrade.doctor.checks import FAIL, OK, WARN

T0 = dt.datetime(2026, 11, 30, 12, 0, 0)
TOTAL = 9  # 5 audit rows + 2 config changes (each audited and in the history)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    for i in range(5):
        with write_transaction(engine) as conn:
            write_audit(
                conn,
                AuditEntry(
                    at=T0 + dt.timedelta(minutes=i),
                    actor="op",
                    action="test.action",
                    target=f"target:{i}",
                    reason=f"reason {i}",
                ),
            )
    set_config(engine, {"CVN_FOCAL_GAMMA": "3.0"}, reason="first", actor="alice")
    set_config(engine, {"CVN_FOCAL_GAMMA": "4.0"}, reason="second", actor="bob")
    return engine


def test_the_doctor_walks_500000_rows_by_default() -> None:
    assert DOCTOR_CHAIN_ROWS == 500_000
    assert check_audit_chain.__kwdefaults__ == {"max_rows": DOCTOR_CHAIN_ROWS}


def test_longer_chains_warn_and_point_to_the_full_walk(seeded: Engine) -> None:
    check = check_audit_chain(seeded, max_rows=4)
    assert check.status == WARN
    assert "first 4 rows" in check.detail and "audit_log 4 of 7 rows" in check.detail
    assert "ftf_config_history 0 of 2 rows" in check.detail
    assert "`cvntrade audit verify` for the full walk" in (check.fix or "")

    check = check_audit_chain(seeded, max_rows=TOTAL - 1)
    assert check.status == WARN and "ftf_config_history 1 of 2 rows" in check.detail


def test_chains_within_the_limit_are_verified_to_their_end(seeded: Engine) -> None:
    check = check_audit_chain(seeded, max_rows=TOTAL)
    assert check.status == OK and "audit_log 7 rows" in check.detail
    report = verify_chains(seeded, max_rows=TOTAL)
    assert report.intact and not report.limited
    assert [c.rows for c in report.chains] == [c.rows for c in verify_chains(seeded).chains]


def test_a_break_inside_the_walked_rows_still_fails(seeded: Engine) -> None:
    tamper(seeded, "UPDATE audit_log SET reason = 'forged' WHERE id = 2")
    check = check_audit_chain(seeded, max_rows=4)
    assert check.status == FAIL and "audit_log: chain broken (changed): row 2:" in check.detail


def test_a_break_beyond_the_limit_is_left_to_audit_verify(seeded: Engine) -> None:
    tamper(seeded, "UPDATE audit_log SET reason = 'forged' WHERE id = 6")
    limited = verify_chains(seeded, max_rows=4)
    assert limited.limited and limited.chains[0].broken is None and limited.chains[0].rows == 4
    assert check_audit_chain(seeded, max_rows=4).status == WARN
    full = verify_chains(seeded)
    assert full.chains[0].broken is not None and full.chains[0].broken.row_id == 6
    assert check_audit_chain(seeded).status == FAIL
