"""The fuzz suite's harness (issue 16.9): run `cvntrade` in-process and check the contract.

Every invocation goes through `cvntrade.cli.main.run` (the real entry point: same parsing, error
mapping and exit codes as the installed command, without a process start-up). The contract, for
any input whatsoever:

* the exit code is 0, 2, 3 or 4 (1 only where the command documents a negative answer);
* no traceback on stdout or stderr; a failure is exactly one line on stderr, `error: …`;
* a failure changes nothing: every table's rows (count and checksum), every file under
  CVN_HOME (market data, drill homes) and, where given, the registry's aliases are as before.

Examples are derandomised and not stored (`derandomize=True, database=None`): CI and a laptop
run the same inputs, and the suite's cost is fixed by each test's `max_examples`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, select
from sqlalchemy import create_engine as sqlalchemy_create_engine

from cvntrade.db import create_db_engine
from cvntrade.db.tables import metadata

OK_CODES = frozenset({0, 2, 3, 4})
SKIPPED_SUFFIXES = (".db-wal", ".db-shm", ".db-journal")
LOG = os.environ.get("FUZZ_LOG")


def fuzz_settings(max_examples: int) -> Any:
    """Bounded, reproducible Hypothesis settings: fixed examples, no deadline, no database."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one world per test, shared by its examples
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


@dataclass(frozen=True)
class Outcome:
    """Exit code and output of one invocation."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str


@dataclass
class World:
    """A CVN_HOME and database the CLI runs against, plus the snapshot that proves "unchanged"."""

    home: Path
    db: Engine
    run_cli: Callable[..., Outcome]
    extra_state: list[Callable[[], object]] = field(default_factory=list)

    def state(self) -> dict[str, object]:
        """Rows of every table, files under home, and any extra state (e.g. aliases)."""
        drill = None
        if drill_db(self.home).exists():
            engine = create_db_engine(f"sqlite:///{drill_db(self.home)}")
            try:
                drill = table_digests(engine)
            finally:
                engine.dispose()
        return {
            "tables": table_digests(self.db),
            "files": file_digests(self.home),
            "drill": drill,
            "extra": [probe() for probe in self.extra_state],
        }

    def run(self, *args: str, negative: bool = False) -> Outcome:
        """Run `cvntrade ARGS` and check the contract (`negative`: exit 1 is a documented no)."""
        before = self.state()
        outcome = self.run_cli(*args)
        if LOG is not None:  # FUZZ_LOG=path: one JSON line per example, to see what was tried
            with Path(LOG).open("a") as log:
                log.write(json.dumps({"args": args, "code": outcome.code, "err": outcome.err}))
                log.write("\n")
        check_contract(outcome, negative=negative)
        if outcome.code != 0 and not (negative and outcome.code == 1):
            assert self.state() == before, f"{args!r} exited {outcome.code} but changed state"
        return outcome


def check_contract(outcome: Outcome, *, negative: bool = False) -> None:
    """Exit code allowed, no traceback, a failure is one `error:` line on stderr."""
    allowed = OK_CODES | ({1} if negative else set())
    text = outcome.out + outcome.err
    assert "Traceback" not in text, f"{outcome.args!r}: traceback\n{outcome.err}"
    assert outcome.code in allowed, f"{outcome.args!r}: exit {outcome.code}\n{outcome.err}"
    if outcome.code not in (0, 1):
        lines = outcome.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (
            f"{outcome.args!r}: not one error line:\n{outcome.err}"
        )


def table_digests(engine: Engine) -> dict[str, tuple[int, str]]:
    """(row count, SHA-256 of the rows in primary-key order) of every table."""
    digests = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            blob = "\n".join(repr(tuple(row)) for row in rows).encode()
            digests[table.name] = (len(rows), hashlib.sha256(blob).hexdigest())
    return digests


def file_digests(home: Path) -> dict[str, str]:
    """SHA-256 of every file under `home`; SQLite databases count by name (rows are compared
    separately) and their WAL/SHM side files not at all."""
    digests = {}
    for path in sorted(home.rglob("*")):
        if not path.is_file() or path.name.endswith(SKIPPED_SUFFIXES):
            continue
        name = str(path.relative_to(home))
        digests[name] = (
            "db" if path.suffix == ".db" else hashlib.sha256(path.read_bytes()).hexdigest()
        )
    return digests


def drill_db(home: Path) -> Path:
    """Where `drill journal` writes by default (its own home)."""
    return home / "drill" / "cvntrade.db"


def make_world(
    db_url: str,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    **env: str,
) -> World:
    """A world on `db_url` (migrated) with `home` as CVN_HOME; `env` adds variables.

    Two start-up costs of a command are paid once per world instead of once per call, so that
    hundreds of examples fit the time budget: the Typer command tree (built by every
    `app(...)` call) and the newest migration id (Alembic reads every script for it).
    """
    from cvntrade.cli import main
    from cvntrade.db import engine as engine_module
    from cvntrade.db import migrate
    from cvntrade.settings import get_settings

    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("CVN_HOME", str(home))
    monkeypatch.setenv("CVN_DATABASE_URL", db_url)
    monkeypatch.setenv("CVN_ACTOR", "fuzzer")
    monkeypatch.setenv("COLUMNS", "200")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    created: list[Engine] = []

    def tracked_create_engine(*args: Any, **kwargs: Any) -> Engine:
        engine = sqlalchemy_create_engine(*args, **kwargs)
        created.append(engine)
        return engine

    # The CLI opens an engine per command and lets the process exit close it; in one process
    # hundreds of commands would keep their pools (and PostgreSQL connections) alive.
    monkeypatch.setattr(engine_module, "create_engine", tracked_create_engine)
    command = typer.main.get_command(main.app)
    monkeypatch.setattr(main, "app", lambda *args, **kwargs: command(*args, **kwargs))
    head = migrate.head_revision()
    monkeypatch.setattr(migrate, "head_revision", lambda: head)

    def run_cli(*args: str) -> Outcome:
        get_settings.cache_clear()
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["cvntrade", *args])
        try:
            with pytest.raises(SystemExit) as exit_info:
                main.run()
        finally:
            while created:
                created.pop().dispose()
        captured = capsys.readouterr()
        return Outcome(tuple(args), int(exit_info.value.code or 0), captured.out, captured.err)

    return World(home, create_db_engine(db_url), run_cli)
