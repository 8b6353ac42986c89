"""Engine creation and transactions that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from cvntrade.errors import DependencyError, UserInputError
from cvntrade.redaction import redact

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 5
"""How long a PostgreSQL connection attempt may take (TCP + startup) before exit 4."""
PG_LOCK_TIMEOUT_MS = 30_000
"""How long a PostgreSQL statement waits for a row/advisory lock (SQLite's busy timeout twin)."""
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def create_db_engine(url: str) -> Engine:
    """Create an engine for `url`; SQLite files get WAL, foreign keys and a busy timeout.

    SQLite transactions are started explicitly (`BEGIN`, or `BEGIN IMMEDIATE` inside
    `write_transaction`) so that read-modify-write sequences take the write lock up front
    instead of failing with `database is locked` when two writers race.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not echoed: without URL syntax there is no telling which part is a password.
        raise UserInputError(
            "invalid database URL (not shown, it may hold a password): expected "
            "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise UserInputError(
            f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
            "the database URL must start with sqlite:/// or postgresql+psycopg://"
        )
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserInputError(
                    f"cannot create the database directory {Path(database).parent} "
                    f"(check CVN_HOME / CVN_DATABASE_URL): {exc.strerror or exc}"
                ) from None
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    if "options" not in parsed.query:
        connect_args["options"] = f"-c lock_timeout={PG_LOCK_TIMEOUT_MS}"
    try:
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as exc:
        raise UserInputError(
            f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
            f"{redact(str(exc))}"
        ) from None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: takes SQLite's write lock at BEGIN; commits or rolls back."""
    try:
        with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
            yield conn
    except OperationalError as exc:
        raise DependencyError(f"database unavailable: {redact(str(exc.orig))}") from exc


def lock_model(conn: Connection, model_name: str) -> None:
    """Serialise decisions about one registered model until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock keyed by the model name, so two writers of the
    same model queue while other models proceed. SQLite: `write_transaction` already holds the
    database write lock (`BEGIN IMMEDIATE`), which serialises every writer; nothing more to do.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"cvntrade.model:{model_name}"},
        )
