"""Issue 16.2: the hash chain detects tampering done with superuser rights, on both backends.

Each test writes five audit rows and two config changes through the application, then rewrites
the tables as a superuser would (triggers lifted: UPDATE, DELETE, INSERT in the middle, ids
swapped) and checks that `verify_chains` names the first broken row and the kind of damage.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from chain_tamper import as_superuser, swap_ids, tamper
from cvntrade.audit import AuditEntry, write_audit
from cvntrade.config import set_config
from cvntrade.db import write_transaction
from cvntrade.db.chain import AUDIT_LOG_HASHED, GENESIS_HASH, chain_hash
from cvntrade.db.chain_rebuild import rechain
from cvntrade.db.tables import audit_log, hash_chain_heads
from cvntrade.db.verify import ChainReport, VerifyReport, verify_chains
from cvntrade.domain import ChainBreak

T0 = dt.datetime(2026, 11, 30, 12, 0, 0, 123456)
ROWS = 5
AUDIT_ROWS = ROWS + 2  # each config change is audited too


def _seed(engine: Engine) -> None:
    for i in range(ROWS):
        with write_transaction(engine) as conn:
            write_audit(
                conn,
                AuditEntry(
                    at=T0 + dt.timedelta(minutes=i),
                    actor=f"op{i}",
                    action="test.action",
                    target=f"target:{i}",
                    reason=f"reason {i} — ünïcode [/bold]",
                    before=None if i == 0 else {"v": i, "x": 0.1 * i, "neg": -0.0},
                    after={"v": i + 1, "big": 1e20, "huge": 2**70, "list": [1, "a", None, True]},
                ),
            )
    set_config(engine, {"CVN_FOCAL_GAMMA": "3.0"}, reason="first", actor="alice")
    set_config(engine, {"CVN_FOCAL_GAMMA": "4.0"}, reason="second", actor="bob")


def _chain(report: VerifyReport, table: str = "audit_log") -> ChainReport:
    return next(c for c in report.chains if c.table == table)


def _broken(engine: Engine, table: str = "audit_log") -> tuple[ChainBreak, int | None]:
    chain = _chain(verify_chains(engine), table)
    assert chain.broken is not None, f"{table} still verifies"
    return chain.broken.kind, chain.broken.row_id


def _row(engine: Engine, row_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(audit_log).where(audit_log.c.id == row_id)).mappings().one()
    return dict(row)


def _insert_raw(engine: Engine, row_id: int, values: dict[str, Any], *stmts: str) -> None:
    """INSERT a forged row with explicit id (and hashes) after `stmts`, triggers lifted."""
    with as_superuser(engine) as conn:
        for statement in stmts:
            conn.execute(text(statement))
        conn.execute(audit_log.insert().values(id=row_id, **values))


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    _seed(engine)
    return engine


def test_rows_written_by_the_application_verify(seeded: Engine) -> None:
    report = verify_chains(seeded)
    assert report.intact, report
    audit, history = _chain(report), _chain(report, "ftf_config_history")
    assert (audit.rows, audit.head_id) == (AUDIT_ROWS, AUDIT_ROWS)
    assert history.rows == 2
    with seeded.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings().all()
        heads = dict(
            conn.execute(select(hash_chain_heads.c.table_name, hash_chain_heads.c.head_hash)).all()
        )
    assert rows[0]["prev_hash"] == GENESIS_HASH
    for before, row in itertools.pairwise(rows):
        assert row["prev_hash"] == before["row_hash"]
    assert heads["audit_log"] == audit.head_hash == rows[-1]["row_hash"]


def test_changed_content_is_named(seeded: Engine) -> None:
    tamper(seeded, "UPDATE audit_log SET reason = 'forged' WHERE id = 3")
    assert _broken(seeded) == (ChainBreak.CHANGED, 3)
    assert _chain(verify_chains(seeded), "ftf_config_history").intact


def test_changed_json_snapshot_is_named(seeded: Engine) -> None:
    tamper(seeded, """UPDATE audit_log SET "after" = '{"v": 99}' WHERE id = 4""")
    assert _broken(seeded) == (ChainBreak.CHANGED, 4)


def test_erased_hash_is_a_change(seeded: Engine) -> None:
    tamper(seeded, "UPDATE audit_log SET row_hash = NULL WHERE id = 2")
    assert _broken(seeded) == (ChainBreak.CHANGED, 2)


@pytest.mark.parametrize(("deleted", "named"), [(3, 4), (1, 2), (AUDIT_ROWS, None)])
def test_deleted_row_is_missing(seeded: Engine, deleted: int, named: int | None) -> None:
    tamper(seeded, f"DELETE FROM audit_log WHERE id = {deleted}")
    assert _broken(seeded) == (ChainBreak.MISSING, named)


@pytest.mark.parametrize("forge_hash", [True, False])
def test_row_inserted_in_the_middle_is_named(seeded: Engine, forge_hash: bool) -> None:
    """Rows 3.. are renumbered to make room; the forged row 3 copies row 2 with a new actor."""
    forged = {k: v for k, v in _row(seeded, 2).items() if k != "id"}
    forged.update(actor="mallory", reason="forged approval")
    if forge_hash:  # the attacker knows the algorithm and links the row to row 2
        forged["prev_hash"] = _row(seeded, 2)["row_hash"]
        forged["row_hash"] = chain_hash(forged["prev_hash"], AUDIT_LOG_HASHED, forged)
    else:
        forged.update(prev_hash=None, row_hash=None)
    _insert_raw(seeded, 3, forged, "UPDATE audit_log SET id = id + 1000 WHERE id > 2")
    assert _broken(seeded) == (ChainBreak.INSERTED, 3)


def test_row_appended_past_the_head_is_named(seeded: Engine) -> None:
    last = _row(seeded, AUDIT_ROWS)
    forged = {k: v for k, v in last.items() if k != "id"}
    forged.update(actor="mallory", prev_hash=last["row_hash"])
    forged["row_hash"] = chain_hash(last["row_hash"], AUDIT_LOG_HASHED, forged)
    _insert_raw(seeded, AUDIT_ROWS + 1, forged)
    assert _broken(seeded) == (ChainBreak.INSERTED, AUDIT_ROWS + 1)


@pytest.mark.parametrize(("a", "b"), [(2, 3), (2, 4), (1, ROWS)])
def test_swapped_rows_are_reordered(seeded: Engine, a: int, b: int) -> None:
    tamper(seeded, *swap_ids("audit_log", a, b))
    assert _broken(seeded) == (ChainBreak.REORDERED, a)


def test_config_history_is_chained_too(seeded: Engine) -> None:
    tamper(seeded, "UPDATE ftf_config_history SET actor = 'mallory' WHERE version = 3")
    assert _broken(seeded, "ftf_config_history") == (ChainBreak.CHANGED, 2)
    assert _chain(verify_chains(seeded)).intact


def test_recomputed_chain_is_caught_only_by_an_anchor(seeded: Engine) -> None:
    """A superuser who edits a row and recomputes every later hash and the head leaves a
    self-consistent chain: the head hash recorded before the edit is what gives it away."""
    anchor = _chain(verify_chains(seeded)).head_hash
    assert verify_chains(seeded, anchors=[anchor]).intact
    tamper(seeded, "UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    with seeded.begin() as conn:
        rechain(conn, "audit_log")
    report = verify_chains(seeded, anchors=[anchor])
    assert _chain(report).intact
    assert not report.intact and report.missing_anchors == (anchor,)


def test_new_rows_after_a_verify_keep_the_chain(seeded: Engine) -> None:
    head = _chain(verify_chains(seeded)).head_hash
    set_config(seeded, {"CVN_FOCAL_GAMMA": "5.0"}, reason="third", actor="carol")
    report = verify_chains(seeded, anchors=[head])
    assert report.intact
    assert _chain(report).rows == AUDIT_ROWS + 1
