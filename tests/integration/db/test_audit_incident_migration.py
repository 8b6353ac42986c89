"""Revision 0008: `audit_log.incident_id` back-filled from the legacy reason tag, on both backends.

The database is migrated to 0007, given incidents and audit rows the way the code of that time
wrote them (` [incident #N]` at the end of the reason, `incident:N` targets), then upgraded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from cvntrade.db import create_db_engine, head_revision, upgrade

PRE = "0007"


@pytest.fixture(params=["sqlite", "pg"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh, never migrated database (SQLite file or PostgreSQL database)."""
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    name = f"cvn_mig_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_db_engine(admin.url.set(database=name).render_as_string(False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


LEGACY_ROWS = [
    # (action, target, reason) as revision-0007 code wrote them
    ("incident.open", "incident:1", "expectancy_negative_focal: paged"),
    ("config.set", "ftf_config", "expectancy_negative_focal: rollback [incident #1]"),
    ("models.set_alias", "M@champion", "expectancy_negative_focal: rollback [incident #1]"),
    ("runbook.confirm", "alert:x", "runbook step 1 [incident #2]"),
    ("config.set", "ftf_config", "unrelated"),
    ("config.set", "ftf_config", "names a missing incident [incident #9]"),
    ("config.set", "ftf_config", "tag not at the end [incident #1] then text"),
    ("incident.status", "incident:2", "closed"),
]


def _seed_legacy(engine: Engine) -> None:
    with engine.begin() as conn:
        for k in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO incidents (id, alert, severity, status, title, opened_at, "
                    "opened_by) VALUES (:id, 'expectancy_negative_focal', 'P1', 'open', 't', "
                    "'2026-11-24 12:00:00', 'a')"
                ),
                {"id": k},
            )
        for action, target, reason in LEGACY_ROWS:
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, target, reason) "
                    "VALUES ('2026-11-24 12:00:00', 'a', :action, :target, :reason)"
                ),
                {"action": action, "target": target, "reason": reason},
            )


def test_upgrade_backfills_incident_id_and_keeps_reasons(empty_engine: Engine) -> None:
    assert upgrade(empty_engine, PRE) == PRE
    _seed_legacy(empty_engine)
    assert upgrade(empty_engine) == head_revision()
    with empty_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action, target, reason, incident_id FROM audit_log ORDER BY id")
        ).all()
    assert [(r[0], r[1], r[2]) for r in rows] == LEGACY_ROWS  # reasons byte for byte
    assert [r[3] for r in rows] == [1, 1, 1, 2, None, None, None, 2]


def test_append_only_guard_is_back_after_the_backfill(empty_engine: Engine) -> None:
    upgrade(empty_engine, PRE)
    _seed_legacy(empty_engine)
    upgrade(empty_engine)
    for statement in (
        "UPDATE audit_log SET incident_id = 2",
        "UPDATE audit_log SET reason = 'x'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as conn:
            conn.execute(text(statement))


def test_upgrade_of_an_empty_log_and_downgrade_round_trip(empty_engine: Engine) -> None:
    from alembic import command

    from cvntrade.db.migrate import _alembic_config

    upgrade(empty_engine)
    config = _alembic_config()
    with empty_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, PRE)
    with empty_engine.connect() as conn:
        columns = conn.execute(text("SELECT * FROM audit_log")).keys()
    assert "incident_id" not in columns
    assert upgrade(empty_engine) == head_revision()
