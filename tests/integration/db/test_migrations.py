"""Migrations create the schema the code expects, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from cvntrade.db import current_revision, head_revision, require_current, upgrade
from cvntrade.db.engine import create_db_engine
from cvntrade.db.migrate import MIGRATIONS_DIR
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


def _journal_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(text("SELECT trade_id FROM trade_journal")).scalars())


def test_import_batches_revision_hides_unpublished_rows_and_downgrades_cleanly(
    engine: Engine,
) -> None:
    row = (
        "INSERT INTO trade_journal_rows (trade_id, crypto_symbol, strategy, model_name, "
        "model_version, model_loss_function, side, entry_time, exit_time, entry_price, "
        "exit_price, exit_reason, fees_pct, realized_pnl_pct, source, import_batch_id) VALUES "
        "(:t, 'BTCUSDC', 'SL0.5_TP1_H4', 'm', 1, 'focal', 'long', '2026-11-24 10:00:00', "
        "'2026-11-24 11:00:00', 1, 1, 'horizon', 0, 0, 'import', :b)"
    )
    batch = (
        "INSERT INTO journal_import_batches (id, state, owner, actor, created_at) "
        "VALUES (:b, :s, 'x', 'a', '2026-11-24 10:00:00')"
    )
    with engine.begin() as conn:
        conn.execute(text(batch), [{"b": 1, "s": "published"}, {"b": 2, "s": "staging"}])
        conn.execute(text(row), [{"t": "engine", "b": None}, {"t": "pub", "b": 1}])
        conn.execute(text(row), [{"t": "staged", "b": 2}])
    assert _journal_ids(engine) == ["engine", "pub"]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0008_audit_incident_id")  # the unpublished row goes
    assert "trade_journal" in inspect(engine).get_table_names()
    assert _journal_ids(engine) == ["engine", "pub"]
    upgrade(engine)
    assert _journal_ids(engine) == ["engine", "pub"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


@pytest.mark.parametrize("db_url", ["pg"], indirect=True)
def test_runbook_step1_through_the_view_stays_an_index_only_scan(engine: Engine) -> None:
    """The view's visibility filter reads `import_batch_id`, which the covering index carries."""
    from cvntrade.journal.runbook_sql import STEP1_CONFIRM_SQL

    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO journal_import_batches (state, owner, actor, created_at) "
                "VALUES ('published', 'x', 'a', now())"
            )
        )
        conn.execute(
            text(
                "INSERT INTO trade_journal_rows (trade_id, crypto_symbol, strategy, model_name, "
                "model_version, model_loss_function, side, entry_time, exit_time, entry_price, "
                "exit_price, exit_reason, fees_pct, realized_pnl_pct, source, import_batch_id) "
                "SELECT 'b-' || g, (ARRAY['BTCUSDC', 'ETHUSDC'])[1 + g % 2], 'SL0.5_TP1_H4', "
                "'m', 7, CASE WHEN g % 3 = 0 THEN 'binary' ELSE 'focal' END, 'long', t, t, 1, 1, "
                "'horizon', 0.1, 0.5, 'import', CASE WHEN g % 2 = 0 THEN NULL ELSE 1 END "
                "FROM (SELECT g, (now() AT TIME ZONE 'UTC') - g * interval '10 minutes' AS t "
                "FROM generate_series(1, 60000) g) s"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE trade_journal_rows"))
        conn.execute(text("VACUUM ANALYZE journal_import_batches"))
        plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + STEP1_CONFIRM_SQL)))
    assert "Index Only Scan using ix_trade_journal_loss_entry" in plan, plan
