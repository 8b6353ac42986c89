"""A per-model lock held across several transactions (and the registry call between them).

`lock_model` (cvntrade.db.engine) serialises decisions inside ONE transaction. An alias move now
spans three steps — commit an intent, move the alias in the registry, commit its confirmation —
so its lock must outlive a transaction and must vanish with the process if it is killed:

* PostgreSQL: a session-level advisory lock on a connection of its own (autocommit, so no
  transaction stays open); a killed process ends its session and the server drops the lock;
* SQLite: an exclusive `flock` on the file `<database>-alias-lock` beside the database (one lock
  for every model: SQLite serialises writers anyway); the kernel drops it with the process. An
  in-memory database has a single process, so a process-local lock is enough.

Waits are bounded (`wait_s`): a holder that does not let go gives `ModelLockBusyError` (exit 4).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from cvntrade.db.engine import SQLITE_BUSY_TIMEOUT_MS
from cvntrade.errors import DependencyError
from cvntrade.redaction import redact

LOCK_WAIT_S = SQLITE_BUSY_TIMEOUT_MS / 1000
"""How long an alias move waits for another move of the same model (as long as a busy database)."""
POLL_S = 0.02
_LOCAL: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


class ModelLockBusyError(DependencyError):
    """Another process holds the model's lock (a move in progress, or a stuck one) past `wait_s`."""


@contextmanager
def model_lock(engine: Engine, model_name: str, *, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the lock of `model_name` for the `with` block; `ModelLockBusyError` after `wait_s`."""
    key = f"cvntrade.model:{model_name}"
    if engine.dialect.name == "postgresql":
        with _pg_lock(engine, key, wait_s):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        with _local_lock(key, wait_s, model_name):
            yield
        return
    with _file_lock(Path(f"{database}-alias-lock"), wait_s, model_name):
        yield


def _busy(model_name: str, wait_s: float) -> ModelLockBusyError:
    return ModelLockBusyError(
        f"another alias move of {model_name} still holds its lock after {wait_s:g} s; "
        "retry in a moment (a stuck process? see `cvntrade doctor`)"
    )


@contextmanager
def _pg_lock(engine: Engine, key: str, wait_s: float) -> Iterator[None]:
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except OperationalError as exc:
        raise DependencyError(f"database unavailable: {redact(str(exc.orig))}") from exc
    try:
        if not _pg_acquire(conn, key, wait_s):
            raise _busy(key.removeprefix("cvntrade.model:"), wait_s)
        try:
            yield
        finally:
            try:
                conn.execute(
                    text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))"), {"key": key}
                )
            except DBAPIError:  # the session is gone, and its lock with it
                conn.invalidate()
    finally:
        conn.close()


def _pg_acquire(conn: Connection, key: str, wait_s: float) -> bool:
    """Take the session advisory lock; False when still held by someone else after `wait_s`."""
    try:
        if wait_s <= 0:
            query = text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))")
            return bool(conn.execute(query, {"key": key}).scalar_one())
        conn.execute(
            text("SELECT set_config('lock_timeout', :ms, false)"), {"ms": f"{int(wait_s * 1000)}"}
        )
        try:
            conn.execute(text("SELECT pg_advisory_lock(hashtextextended(:key, 0))"), {"key": key})
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                return False
            raise
        finally:
            with suppress(DBAPIError):
                conn.execute(text("RESET lock_timeout"))
        return True
    except OperationalError as exc:
        raise DependencyError(f"database unavailable: {redact(str(exc.orig))}") from exc


@contextmanager
def _file_lock(path: Path, wait_s: float, model_name: str) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise DependencyError(f"cannot open the alias lock {path}: {exc.strerror or exc}") from None
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy(model_name, wait_s) from None
                time.sleep(POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _local_lock(key: str, wait_s: float, model_name: str) -> Iterator[None]:
    with _LOCAL_GUARD:
        lock = _LOCAL.setdefault(key, threading.Lock())
    acquired = lock.acquire(timeout=wait_s) if wait_s > 0 else lock.acquire(blocking=False)
    if not acquired:
        raise _busy(model_name, wait_s)
    try:
        yield
    finally:
        lock.release()
