"""Production mode: the CLI against a real `mlflow server` (PostgreSQL backend) over HTTP.

The tracking server runs as its own process with a PostgreSQL backend store and a local artifact
root, exactly as docs/deployment.md starts it; CVNTrade's database is PostgreSQL too. Every step
is a `cvntrade` process reaching the registry only through `MLFLOW_TRACKING_URI=http://…`:
synthetic data, two trainings (binary, then focal), the runbook's `models list-versions` and
`models set-alias`, then `runbook rollback` while the server is down (exit 4, one line, nothing
moved) and again after it is restarted (finishes, once; a third run moves nothing).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from production_support import Server, child_env, free_port, mlflow_server, wait_until_http_ok
from sqlalchemy import Engine, text

from cvntrade.audit import read_audit
from cvntrade.config import read_config
from cvntrade.db import create_db_engine
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SYMBOL = "BTCUSDC"
NAME = model_name(SYMBOL, DEFAULT_STRATEGY)
FAST = ("--folds", "2", "--rounds", "10")
REASON = "expectancy_negative_focal: rollback"


class Tracking:
    """The running tracking server: its URI, its process and its artifact root."""

    def __init__(self, server: Server, uri: str, artifacts: Path) -> None:
        self.server, self.uri, self.artifacts = server, uri, artifacts

    def restart(self) -> None:
        """Start the killed server again on the same port and store; wait until it answers."""
        self.server.start()
        wait_until_http_ok(self.server, f"{self.uri}/health")


@pytest.fixture
def tracking(pg_admin: Engine, tmp_path: Path) -> Iterator[Tracking]:
    """`mlflow server` on a fresh PostgreSQL database and a temporary artifact root."""
    database = f"mlflow_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    backend = pg_admin.url.set(drivername="postgresql+psycopg", database=database)
    port = free_port()
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    server = mlflow_server(
        backend.render_as_string(hide_password=False), artifacts, port, tmp_path / "mlflow.log"
    ).start()
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until_http_ok(server, f"{uri}/health")
        yield Tracking(server, uri, artifacts)
    finally:
        server.stop()
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def cvntrade(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`cvntrade ARGS` in a new process (the way an operator or a unit file runs it)."""
    return subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def ok(env: dict[str, str], *args: str) -> str:
    """Run a command that must succeed; its stdout."""
    done = cvntrade(env, *args)
    assert done.returncode == 0, f"cvntrade {' '.join(args)} → {done.returncode}\n{done.stderr}"
    return done.stdout


def test_train_alias_and_rollback_over_http_survive_a_registry_outage(
    pg_url: str, tracking: Tracking, tmp_path: Path
) -> None:
    env = child_env(
        CVN_HOME=str(tmp_path / "home"),
        CVN_DATABASE_URL=pg_url,
        CVN_ACTOR="oncall",
        MLFLOW_TRACKING_URI=tracking.uri,
        # a dead server must fail in seconds, not MLflow's default minutes of retries
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="10",
    )
    ok(env, "data", "synth", "--symbols", SYMBOL, "--start", "2025-09-01", "--end", "2025-12-01")
    binary = json.loads(ok(env, "train", "--symbol", SYMBOL, "--loss", "binary", *FAST, "--json"))
    focal = json.loads(ok(env, "train", "--symbol", SYMBOL, "--loss", "focal", *FAST, "--json"))
    assert (binary["version"], binary["became_champion"]) == (1, True)
    assert (focal["version"], focal["loss_function"]) == (2, "focal")
    assert any(tracking.artifacts.rglob("*.ubj")) or any(tracking.artifacts.rglob("MLmodel")), (
        "model artifacts go to the server's artifact root"
    )

    ok(env, "models", "set-alias", "--name", NAME, "--alias", "champion", "--version", "2",
       "--reason", "focal promoted")  # fmt: skip
    ok(env, "config", "set", "CVN_LOSS_FUNCTION=focal", "--reason", "focal promoted")
    listed = json.loads(
        ok(
            env,
            "models",
            "list-versions",
            "--name",
            NAME,
            "--order-by",
            "version_number",
            "DESC",
            "--max-results",
            "5",
            "--json",
        )
    )
    assert [(v["version"], v["tags"]["loss_function"], v["aliases"]) for v in listed] == [
        (2, "focal", ["champion"]),
        (1, "binary", []),
    ]

    tracking.server.kill()  # the registry goes down between the runbook's steps
    rollback = ("runbook", "rollback", "--symbols", SYMBOL, "--reason", REASON, "--wait-s", "0")
    down = cvntrade(env, *rollback)
    assert down.returncode == 4, down.stderr
    [line] = down.stderr.strip().splitlines()
    assert line.startswith("error: ") and "registry" in line, line
    assert "Traceback" not in down.stderr

    tracking.restart()
    done = json.loads(ok(env, *rollback, "--json"))
    assert [(s["crypto_symbol"], s["action"]) for s in done["symbols"]] == [(SYMBOL, "move")]
    again = json.loads(ok(env, *rollback, "--json"))
    assert [(s["crypto_symbol"], s["action"]) for s in again["symbols"]] == [
        (SYMBOL, "already_binary")
    ]

    listed = json.loads(ok(env, "models", "list-versions", "--name", NAME, "--json"))
    assert {v["version"]: v["aliases"] for v in listed} == {2: [], 1: ["champion"]}
    engine = create_db_engine(pg_url)
    moves = sorted(
        (a.before["version"] or 0, a.after["version"])
        for a in read_audit(engine, action="models.set_alias")
    )
    assert moves == [(0, 1), (1, 2), (2, 1)], "first champion, promotion, ONE rollback move"
    assert read_config(engine).loss_function == "binary:logistic"
    engine.dispose()
