"""Issue 16.2: the append-only tables cannot be rewritten by REPLACE (SQLite) or TRUNCATE (PG)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from cvntrade.audit import AuditEntry, read_audit, write_audit
from cvntrade.clock import utc_now
from cvntrade.config import config_history, set_config
from cvntrade.db import write_transaction


def _history(engine: Engine) -> list[tuple[int, str, str]]:
    return [(e.version, e.actor, e.reason) for e in config_history(engine, limit=10)]


def _audit(engine: Engine) -> list[tuple[int | None, str, str]]:
    return [(e.id, e.actor, e.reason) for e in read_audit(engine)]


def _seed(engine: Engine) -> None:
    set_config(engine, {"CVN_FOCAL_GAMMA": "3.0"}, reason="genuine", actor="alice")
    with write_transaction(engine) as conn:
        write_audit(conn, AuditEntry(utc_now(), "bob", "test.action", "t", "second"))


def _rewrites(dialect: str) -> list[str]:
    """Every statement that would rewrite or erase history on this backend."""
    if dialect == "sqlite":
        return [
            "INSERT OR REPLACE INTO audit_log (id, at, actor, action, target, reason) "
            "SELECT id, at, 'mallory', action, target, 'forged' FROM audit_log",
            "REPLACE INTO ftf_config_history "
            "(id, version, changed_at, actor, reason, before_env, after_env) "
            "SELECT id, version, changed_at, 'mallory', 'forged', before_env, after_env "
            "FROM ftf_config_history",
            "INSERT OR REPLACE INTO ftf_config_history "
            "(version, changed_at, actor, reason, before_env, after_env) "
            "SELECT version, changed_at, 'mallory', 'forged', before_env, after_env "
            "FROM ftf_config_history",
            "INSERT INTO audit_log (id, at, actor, action, target, reason) "
            "SELECT id, at, 'mallory', action, target, 'forged' FROM audit_log "
            "WHERE true ON CONFLICT (id) DO UPDATE SET actor = 'mallory'",
        ]
    return [
        "TRUNCATE audit_log",
        "TRUNCATE ftf_config_history",
        "TRUNCATE audit_log, ftf_config_history",
        "INSERT INTO audit_log (id, at, actor, action, target, reason) "
        "SELECT id, at, 'mallory', action, target, 'forged' FROM audit_log "
        "ON CONFLICT (id) DO UPDATE SET actor = 'mallory'",
    ]


@pytest.mark.parametrize("index", range(4))
def test_history_cannot_be_replaced_or_truncated(engine: Engine, index: int) -> None:
    _seed(engine)
    history, audit = _history(engine), _audit(engine)
    statement = _rewrites(engine.dialect.name)[index]
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert _history(engine) == history
    assert _audit(engine) == audit
    assert ("mallory", "forged") not in {(a, r) for _, a, r in _audit(engine)}


def test_new_rows_are_still_appended_after_the_hardening(engine: Engine) -> None:
    _seed(engine)
    set_config(engine, {"CVN_FOCAL_GAMMA": "4.0"}, reason="again", actor="carol")
    assert [v for v, _, _ in _history(engine)] == [3, 2]
    assert _audit(engine)[0][1:] == ("carol", "again")
