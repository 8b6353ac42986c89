"""Revision 0010_audit_hash_chain back-fills rows written before it, exactly as write_audit would.

Rows written at head are hashed by the application; going down to 0009 drops the hashes, going
back up recomputes them from the rows alone: they must come out identical (the back-fill and the
writer share one canonical form), the chain must verify, and the append-only triggers the
back-fill lifted must refuse UPDATE again.
"""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.config import set_config
from cvntrade.db import head_revision, upgrade, write_transaction
from cvntrade.db.migrate import MIGRATIONS_DIR
from cvntrade.db.tables import audit_log, ftf_config_history
from cvntrade.db.verify import verify_chains

PRE_CHAIN = "0009_journal_import_batches"
"""The revision just before the hash chain (0010_audit_hash_chain)."""


def _downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _hashes(engine: Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        return [
            (int(r.id), r.prev_hash, r.row_hash)
            for table in (audit_log, ftf_config_history)
            for r in conn.execute(
                select(table.c.id, table.c.prev_hash, table.c.row_hash).order_by(table.c.id)
            )
        ]


def test_backfill_reproduces_the_writer_hashes(engine: Engine) -> None:
    for i in range(30):
        with write_transaction(engine) as conn:
            write_audit(
                conn,
                AuditEntry(
                    dt.datetime(2026, 11, 1) + dt.timedelta(seconds=i, microseconds=i),
                    f"op{i}",
                    "test.action",
                    f"t{i}",
                    f"reason {i}",
                    before={"f": i / 7, "n": None},
                    after=[i, 1e-7 * i, "x" * i],
                ),
            )
    set_config(engine, {"CVN_FOCAL_GAMMA": "3.5"}, reason="r", actor="a")
    written = _hashes(engine)

    _downgrade(engine, PRE_CHAIN)
    columns = {c["name"] for c in inspect(engine).get_columns("audit_log")}
    assert "row_hash" not in columns and not inspect(engine).has_table("hash_chain_heads")
    assert upgrade(engine) == head_revision()

    assert _hashes(engine) == written
    report = verify_chains(engine)
    assert report.intact and [c.rows for c in report.chains] == [31, 1]


@pytest.mark.parametrize("table", ["audit_log", "ftf_config_history"])
def test_append_only_triggers_are_back_after_the_backfill(engine: Engine, table: str) -> None:
    set_config(engine, {"CVN_FOCAL_GAMMA": "3.5"}, reason="r", actor="a")
    _downgrade(engine, PRE_CHAIN)
    upgrade(engine)
    for statement in (f"UPDATE {table} SET reason = 'x'", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
