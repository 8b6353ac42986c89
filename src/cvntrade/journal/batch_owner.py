"""Is the process that opened an import batch still alive? A lock only its owner holds says.

An import claims a random token and holds a lock on it for as long as it runs; the lock goes
away with the process, however it ends (kill -9 included):

* PostgreSQL: a session-level advisory lock on the token, held by the import's connection;
* SQLite: `flock` on a small file beside the database (`<db>.import-<token>.lock`); every
  process using a SQLite database in WAL mode is on the same machine, so this lock is visible
  to all of them.

Another import that finds a batch still `staging` asks `owner_alive(token)`: a batch whose
owner is gone can never be published and is removed (its rows were never visible).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text

_PG_KEY = "hashtextextended('cvntrade.journal.import:' || :token, 0)"


@dataclass
class BatchOwner:
    """The running import's liveness token and the lock that proves it is alive."""

    token: str
    conn: Connection
    fd: int | None = None
    path: Path | None = None

    def release(self) -> None:
        """Drop the lock (after the batch was published or discarded)."""
        if self.fd is not None:
            if self.path is not None:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
            os.close(self.fd)
            self.fd = None
        elif self.conn.dialect.name == "postgresql":
            with self.conn.begin():
                self.conn.execute(
                    text(f"SELECT pg_advisory_unlock({_PG_KEY})"), {"token": self.token}
                )


def claim_owner(conn: Connection) -> BatchOwner:
    """A new token, locked by this process (before any batch row names it)."""
    token = uuid.uuid4().hex
    if conn.dialect.name == "postgresql":
        with conn.begin():
            conn.execute(text(f"SELECT pg_advisory_lock({_PG_KEY})"), {"token": token})
        return BatchOwner(token, conn)
    path = _lock_path(conn, token)
    fresh = path.with_name(path.name + ".new")  # locked before it gets the name others look for
    fd = os.open(fresh, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fresh.rename(path)
    return BatchOwner(token, conn, fd, path)


def owner_alive(conn: Connection, token: str) -> bool:
    """Whether the process that claimed `token` still runs (holds its lock)."""
    if conn.dialect.name == "postgresql":
        with conn.begin():
            got = conn.execute(
                text(f"SELECT pg_try_advisory_lock({_PG_KEY})"), {"token": token}
            ).scalar_one()
            if got:
                conn.execute(text(f"SELECT pg_advisory_unlock({_PG_KEY})"), {"token": token})
        return not got
    try:
        fd = os.open(_lock_path(conn, token), os.O_RDWR)
    except FileNotFoundError:
        return False  # never created (the owner died first) or removed by a cleaner
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def forget_owner(conn: Connection, token: str) -> None:
    """Remove a dead owner's lock file (SQLite); nothing to do on PostgreSQL."""
    if conn.dialect.name != "postgresql":
        with contextlib.suppress(FileNotFoundError):
            _lock_path(conn, token).unlink()


def sweep_dead_owner_files(conn: Connection) -> int:
    """Remove SQLite lock files nobody holds (an import killed before it opened its batch)."""
    if conn.dialect.name == "postgresql":
        return 0
    pattern = _lock_path(conn, "*")
    removed = 0
    for path in pattern.parent.glob(pattern.name):
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a running import
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        finally:
            os.close(fd)
    return removed


def _lock_path(conn: Connection, token: str) -> Path:
    database = conn.engine.url.database
    if not database or database == ":memory:":
        return Path(tempfile.gettempdir()) / f"cvntrade-memory.import-{token}.lock"
    return Path(f"{database}.import-{token}.lock")
