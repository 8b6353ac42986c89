"""Shared fixtures: a migrated database on SQLite and on the real PostgreSQL server.

PostgreSQL comes from `CVN_TEST_DATABASE_URL` (default: the local server). When it does not
answer, PostgreSQL tests are skipped with the reason shown, except under `CI=true`, where a
missing PostgreSQL fails the run. Each test gets its own fresh database (cloned from a migrated
template), so tests never see each other's rows.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from cvntrade.db import create_db_engine, upgrade

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "pg")


def _pg_server_url() -> URL:
    return make_url(os.environ.get("CVN_TEST_DATABASE_URL", DEFAULT_PG_URL))


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the PostgreSQL server (to create/drop test databases)."""
    url = _pg_server_url()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL at {url.render_as_string(hide_password=True)} unreachable: {exc.orig}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_admin: Engine) -> Iterator[str]:
    """A migrated template database; per-test databases are cloned from it."""
    name = f"cvn_tmpl_{uuid.uuid4().hex[:10]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_db_engine(_pg_server_url().set(database=name).render_as_string(False))
    upgrade(engine)
    engine.dispose()
    yield name
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url(pg_admin: Engine, pg_template: str) -> Iterator[str]:
    """URL of a fresh, migrated PostgreSQL database for one test."""
    name = f"cvn_t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield _pg_server_url().set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh, migrated SQLite database file for one test."""
    url = f"sqlite:///{tmp_path / 'cvntrade.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database URL, once on SQLite (`sqlite`) and once on PostgreSQL (`pg`)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on `db_url` (disposed after the test)."""
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow sqlite store with MLflow's own migrations done (they cost ~2 s).

    Tests copy it to get a fresh store of their own in milliseconds.
    """
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running the `cvntrade` CLI against `db_url` in a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    env.update(CVN_HOME=str(tmp_path / "home"), CVN_DATABASE_URL=db_url, CVN_ACTOR="tester")
    return env


def scenario_confusion_matrix(cells: list[dict[str, object]]) -> str:
    """The scenario acceptance's confusion matrix (rows: true cause; columns: the likely cause
    ranked first) from the cells its cases recorded."""
    from cvntrade.drill.scenario import CAUSES as WORLD_CAUSES
    from cvntrade.runbook.diagnose import CAUSES

    counts = Counter((str(c["cause"]), str(c["likely"])) for c in cells)
    seeds = sorted({int(str(c["seed"])) for c in cells})
    columns = [*CAUSES, "none likely"]
    width = max(len(c) for c in columns) + 1
    lines = [
        "confusion matrix (rows: true cause; columns: likely cause ranked first), seeds "
        + ", ".join(map(str, seeds)),
        " " * 26 + "".join(f"{c:>{width}}" for c in columns),
    ]
    for row in WORLD_CAUSES:
        lines.append(f"{row:>26}" + "".join(f"{counts[row, c]:>{width}}" for c in columns))
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the scenario acceptance's confusion matrix, gathered from every worker's reports."""
    cells = [
        json.loads(str(value))
        for kind in ("passed", "failed")
        for report in terminalreporter.stats.get(kind, [])
        if getattr(report, "when", "call") == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == "confusion_cell"
    ]
    if cells:
        terminalreporter.write_sep("=", "scenario acceptance")
        terminalreporter.write_line(scenario_confusion_matrix(cells))
