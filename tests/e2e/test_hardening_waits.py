"""Issue 16.5: a dead or silent database or registry gives exit 4 and one line, in seconds.

Dead = an unused local port (connection refused); silent = a socket that accepts and never
answers. Durations are only bounded generously (the machine is shared): before the fix a dead
tracking server took ~248 s to fail and a silent PostgreSQL listener hung forever.
"""

from __future__ import annotations

import time

import pytest
from hardening_support import cvntrade, silent_server, unused_port

DEAD_BOUND_S = 180.0
"""Below the old 248 s, far above the ~5-10 s a dead server costs now even on a busy box."""
SILENT_BOUND_S = 240.0
"""Far below the old 8 x 120 s (or forever for PostgreSQL); ~20-30 s now on a busy box."""


def _rollback(env: dict[str, str]) -> tuple[int, str, str, float]:
    start = time.monotonic()
    done = cvntrade(
        env,
        "runbook",
        "rollback",
        "--symbols",
        "BTCUSDC",
        "--reason",
        "r",
        "--wait-s",
        "0",
        timeout=600,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - start


def test_rollback_against_dead_registry_exits_4_quickly(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{unused_port()}"}
    code, _out, err, elapsed = _rollback(env)
    assert code == 4, err
    assert err.startswith("error: model registry") and err.count("\n") == 1
    assert "nothing was changed" in err and " s)" in err  # the wait is reported
    assert elapsed < DEAD_BOUND_S


def test_rollback_against_silent_registry_exits_4(cli_env: dict[str, str]) -> None:
    with silent_server() as port:
        env = {**cli_env, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}"}
        code, _out, err, elapsed = _rollback(env)
    assert code == 4, err
    assert err.startswith("error: model registry") and err.count("\n") == 1
    assert "timed out" in err.lower()
    assert elapsed < SILENT_BOUND_S


@pytest.mark.parametrize("server", ["dead", "silent"])
@pytest.mark.parametrize("db_url", ["pg"], indirect=True)
def test_unreachable_postgresql_exits_4_with_one_line(cli_env: dict[str, str], server: str) -> None:
    def show(port: int) -> tuple[int, str, float]:
        env = {**cli_env, "CVN_DATABASE_URL": f"postgresql+psycopg://cvn@127.0.0.1:{port}/x"}
        start = time.monotonic()
        done = cvntrade(env, "config", "show", timeout=600)
        return done.returncode, done.stderr, time.monotonic() - start

    if server == "dead":
        code, err, elapsed = show(unused_port())
    else:
        with silent_server() as port:
            code, err, elapsed = show(port)
    assert code == 4, err
    assert err.startswith("error: cannot reach database") and err.count("\n") == 1
    assert elapsed < SILENT_BOUND_S
