"""Tampering as a database superuser would: lift the append-only triggers, then rewrite rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

CHAINED = ("audit_log", "ftf_config_history")


@contextmanager
def as_superuser(engine: Engine) -> Iterator[Connection]:
    """A transaction in which the append-only triggers do not fire (they are back afterwards).

    PostgreSQL: `session_replication_role = replica` (superuser only) skips ordinary triggers.
    SQLite: the triggers are dropped and re-created from their stored SQL.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn
            return
        triggers = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('audit_log', 'ftf_config_history')"
            )
        ).all()
        for name, _ in triggers:
            conn.execute(text(f'DROP TRIGGER "{name}"'))
        yield conn
        for _, sql in triggers:
            conn.execute(text(sql))


def tamper(engine: Engine, *statements: str) -> None:
    """Run `statements` with the triggers lifted, in one transaction."""
    with as_superuser(engine) as conn:
        for statement in statements:
            conn.execute(text(statement))


def swap_ids(table: str, a: int, b: int) -> tuple[str, str, str]:
    """Statements that exchange the ids of two rows (a reordering)."""
    return (
        f"UPDATE {table} SET id = -1 WHERE id = {a}",
        f"UPDATE {table} SET id = {a} WHERE id = {b}",
        f"UPDATE {table} SET id = {b} WHERE id = -1",
    )
