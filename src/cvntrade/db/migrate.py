"""Schema migrations (Alembic) driven from our own CLI, identical on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from cvntrade.errors import DependencyError, NotInitialisedError, UserInputError
from cvntrade.redaction import redact

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of CVNTrade."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to `revision` (default: newest); returns the revision reached."""
    config = _alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise DependencyError(f"cannot migrate database: {redact(str(exc.orig))}") from exc
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        if engine.dialect.name == "sqlite" and Path(str(engine.url.database or "")).is_dir():
            raise UserInputError(f"database path {engine.url.database} is a directory") from None
        raise DependencyError(f"cannot reach database: {redact(str(exc.orig))}") from exc
    except DatabaseError as exc:  # e.g. SQLite "file is not a database"
        raise UserInputError(
            f"database {engine.url.render_as_string(hide_password=True)} is unreadable "
            f"(corrupt or not a CVNTrade database?): {redact(str(exc.orig))}"
        ) from None


def require_current(engine: Engine) -> None:
    """Fail clearly when the schema is missing or older than this code expects."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "not initialised" if current is None else f"at revision {current}"
        raise NotInitialisedError(
            f"database is {state}, this version needs {head}: run `cvntrade db upgrade`"
        )
