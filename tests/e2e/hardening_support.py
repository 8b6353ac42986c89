"""Helpers shared by the hardening tests (issue 16): run the CLI, find ports, dump a database."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from cvntrade.db import create_db_engine
from cvntrade.db.tables import metadata

DB_PASSWORD = "DbPass4567xyz"
TRACKING_PASSWORD = "TrackPass987xyz"


def cvntrade(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `cvntrade ARGS` in a new process (generous timeout: the machine is shared)."""
    return subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def unused_port() -> int:
    """A local TCP port nobody listens on (a dead server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def silent_server() -> Iterator[int]:
    """A local port that accepts TCP connections and never answers (a hung server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield int(sock.getsockname()[1])


def with_db_password(db_url: str) -> str:
    """`db_url` carrying `DB_PASSWORD` (PostgreSQL trusts local connections and ignores it)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        return db_url
    return url.set(password=DB_PASSWORD).render_as_string(hide_password=False)


def database_text(db_url: str) -> str:
    """Every row of every table as text, to search for a leaked secret."""
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            return "\n".join(
                repr(tuple(row))
                for table in metadata.sorted_tables
                for row in conn.execute(select(table)).all()
            )
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Outcome:
    """Exit code and output of one in-process `cvntrade` invocation."""

    code: int
    out: str
    err: str


def cli_in_process(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Outcome]:
    """`cvntrade ARGS` run by `cvntrade.cli.main.run` in this process, in `env`'s settings.

    Same parsing, error mapping and exit codes as the real process, without its start-up cost.
    """
    from cvntrade.cli import main
    from cvntrade.settings import get_settings

    for key, value in env.items():
        if key.startswith(("CVN_", "MLFLOW_")):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()

    def invoke(*args: str) -> Outcome:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["cvntrade", *args])
        with pytest.raises(SystemExit) as exit_info:
            main.run()
        captured = capsys.readouterr()
        return Outcome(int(exit_info.value.code or 0), captured.out, captured.err)

    return invoke
