"""Migrations create the schema the code expects, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from cvntrade.db import current_revision, head_revision, require_current, upgrade
from cvntrade.db.engine import create_db_engine
from cvntrade.db.tables import metadata
from cvntrade.errors import NotInitialisedError


def test_migrated_schema_matches_table_definitions(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_database_is_at_head_and_upgrade_is_idempotent(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert upgrade(engine) == head_revision()
    require_current(engine)


def test_runbook_indexes_exist(engine: Engine) -> None:
    names = {ix["name"] for ix in inspect(engine).get_indexes("trade_journal_rows")}
    assert {"ix_trade_journal_loss_entry", "ix_trade_journal_symbol_entry"} <= names


def test_ftf_config_starts_with_single_binary_row(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, version FROM ftf_config")).all()
    assert [(r.id, r.version) for r in rows] == [(1, 1)]


@pytest.mark.parametrize("table", ["audit_log", "ftf_config_history"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET reason = 'x'", "DELETE FROM {t}"])
def test_append_only_tables_refuse_update_and_delete(
    engine: Engine, table: str, statement: str
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO {table} "
                + (
                    "(at, actor, action, target, reason) "
                    "VALUES (CURRENT_TIMESTAMP, 'a', 'b', 'c', 'd')"
                    if table == "audit_log"
                    else "(version, changed_at, actor, reason, before_env, after_env) "
                    "VALUES (99, CURRENT_TIMESTAMP, 'a', 'r', '{}', '{}')"
                )
            )
        )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement.format(t=table)))


def test_unmigrated_database_is_reported_clearly(tmp_path: object) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(NotInitialisedError, match="cvntrade db upgrade"):
        require_current(engine)
