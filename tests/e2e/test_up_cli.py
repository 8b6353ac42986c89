"""`cvntrade up` as a real process on a fresh CVN_HOME: start, serve, crash, stop cleanly.

"No journal row lost" (see `up_support.assert_nothing_lost`): after the SIGTERM, per symbol
with engine checkpoint bar T, every trade an uninterrupted run (a `trade replay` backtest of the
same bars) entered at or before T is in trade_journal, identical, or is the position still open
in the checkpoint; the engine's own count of trades it journaled equals the journal's rows; and
an engine resumed from the checkpoint completes the journal to exactly the uninterrupted one.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from up_support import (
    DATA_END,
    STRATEGY,
    SYMBOLS,
    TRAIN_END,
    UpRun,
    assert_nothing_lost,
    backtest_trades_of,
    cvntrade,
    free_port,
    gone,
    journal_trades,
    ok,
    prepare_home,
    start_up,
    terminate,
    up_state,
    wait_for,
)

from cvntrade.audit import read_audit
from cvntrade.db import create_db_engine
from cvntrade.db.tables import trade_journal
from cvntrade.trading.persistence import StatusRow, served_versions
from cvntrade.trading.service import default_engine_id

SYMBOL_LIST = ",".join(SYMBOLS)
LAST_BAR = "2025-02-28 23:00:00"


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CVN_") and k != "MLFLOW_TRACKING_URI"
    }
    env.update(CVN_HOME=str(tmp_path / "home"), CVN_ACTOR="tester")
    return env


@pytest.fixture(params=["embedded", "postgresql"])
def platform_env(
    request: pytest.FixtureRequest, tmp_path: Path, mlflow_template: Path
) -> dict[str, str]:
    """A fresh CVN_HOME with bars and champions: the embedded default (SQLite + MLflow store
    under CVN_HOME), or CVN_DATABASE_URL on PostgreSQL with MLFLOW_TRACKING_URI elsewhere."""
    env = _clean_env(tmp_path)
    if request.param == "postgresql":
        env["CVN_DATABASE_URL"] = request.getfixturevalue("pg_url")
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'registry' / 'mlflow.db'}"
    prepare_home(env, mlflow_template)
    return env


@pytest.fixture
def db(platform_env: dict[str, str]) -> Iterator[Engine]:
    home = Path(platform_env["CVN_HOME"])
    engine = create_db_engine(
        platform_env.get("CVN_DATABASE_URL", f"sqlite:///{home / 'cvntrade.db'}")
    )
    yield engine
    engine.dispose()


def _journal_rows(db: Engine) -> int | None:
    with db.connect() as conn:
        count = int(conn.execute(select(func.count()).select_from(trade_journal)).scalar_one())
    return count or None


def _all_running(home: Path) -> dict[str, Any] | None:
    state = up_state(home)
    if state and state["parts"] and all(p["state"] == "running" for p in state["parts"]):
        return state
    return None


def _engine_report(home: Path) -> dict[str, Any]:
    """The engine's final report: the JSON `trade serve --json` printed into its log."""
    text = (home / "logs" / "up-engine.log").read_text()
    blocks = re.findall(r"^\{$.*?^\}$", text, flags=re.MULTILINE | re.DOTALL)
    assert blocks, text
    report: dict[str, Any] = json.loads(blocks[-1])
    return report


def _login_status(port: int, password: str) -> int:
    """Status of a console login as `admin` (303: logged in, 401: refused)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = urllib.parse.urlencode({"username": "admin", "password": password})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    connection.request("POST", "/login", body=body, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def _printed_password(up: UpRun) -> str:
    out, _ = up.output()
    lines = out.splitlines()
    [index] = [i for i, line in enumerate(lines) if "shown only now" in line]
    return lines[index + 1].strip()


def _checkpoints(db: Engine, engine_id: str) -> dict[str, StatusRow]:
    return {r.crypto_symbol: r for r in served_versions(db, engine_id)}


def _reference(env: dict[str, str], db: Engine) -> Any:
    """An uninterrupted run over the same bars: a backtest, stored apart from the journal."""
    replay = ["trade", "replay", "--symbols", SYMBOL_LIST, "--from", TRAIN_END, "--to", DATA_END]
    run = json.loads(ok(env, *replay, "--json"))
    return backtest_trades_of(db, int(run["id"]))


def test_sigterm_mid_run_stops_every_part_and_loses_no_journal_row(
    platform_env: dict[str, str], db: Engine, tmp_path: Path
) -> None:
    home = Path(platform_env["CVN_HOME"])
    console_port, exporter_port = free_port(), free_port()
    up = start_up(
        platform_env,
        tmp_path,
        "--since",
        TRAIN_END,
        "--poll-s",
        "0.5",
        "--bars-per-poll",
        "1",  # 28 days of bars take minutes: the SIGTERM comes while it catches up
        "--console-port",
        str(console_port),
        "--exporter-port",
        str(exporter_port),
        "--stop-timeout",
        "1800",  # a hang guard: every part must stop by itself
    )
    try:
        state = wait_for("every part running", lambda: _all_running(home), up)
        wait_for("journal rows", lambda: _journal_rows(db), up)
        assert _login_status(console_port, _printed_password(up)) == 303
        assert _login_status(console_port, "not-the-password") == 401
        pids = [int(p["pid"]) for p in state["parts"]]
        assert [p["name"] for p in state["parts"]] == ["engine", "exporter", "console"]
        up.process.send_signal(signal.SIGTERM)
        assert up.wait() == 0, up.output()
    finally:
        terminate(up)
    out, err = up.output()
    assert all(gone(pid) for pid in pids), "a part (or a child of one) outlived `up`"
    final = up_state(home)
    assert final is not None
    assert [p["state"] for p in final["parts"]] == ["stopped"] * 3
    assert [p["restarts"] for p in final["parts"]] == [0, 0, 0]
    assert "crashed" not in out + err

    engine_id = default_engine_id("serve", STRATEGY.name)
    saved = _checkpoints(db, engine_id)
    assert set(saved) == set(SYMBOLS)
    assert {r.mode for r in saved.values()} == {"stopped"}  # it stopped itself, between blocks
    report = _engine_report(home)
    assert report["stopped_by"] == "signal"
    journal = journal_trades(db)
    assert report["trades"] == len(journal) > 0

    reference = _reference(platform_env, db)
    assert_nothing_lost(journal, reference, saved)
    if any(str(r.last_bar_time) != LAST_BAR for r in saved.values()):
        resumed = ok(
            platform_env,
            "trade",
            "paper",
            "--symbols",
            SYMBOL_LIST,
            "--from",
            TRAIN_END,
            "--to",
            DATA_END,
            "--engine-id",
            engine_id,
            "--json",
        )
        assert json.loads(resumed)["trades"] == len(reference) - len(journal)
    assert journal_trades(db).equals(reference)

    actions = [e.action for e in read_audit(db, target="platform")]
    assert actions == ["platform.down", "platform.up"]
    assert [e.action for e in read_audit(db, action="users.add")] == ["users.add"]


@pytest.mark.parametrize("platform_env", ["embedded"], indirect=True)
def test_a_killed_engine_is_restarted_reported_and_resumes_without_loss(
    platform_env: dict[str, str], db: Engine, tmp_path: Path
) -> None:
    home = Path(platform_env["CVN_HOME"])
    up = start_up(
        platform_env,
        tmp_path,
        "--since",
        TRAIN_END,
        "--poll-s",
        "0.2",
        "--bars-per-poll",
        "3",
        "--no-console",
        "--no-exporter",
        "--stop-timeout",
        "1800",
    )
    try:
        state = wait_for("the engine running", lambda: _all_running(home), up)
        wait_for("journal rows", lambda: _journal_rows(db), up)
        [first] = [int(p["pid"]) for p in state["parts"]]
        os.kill(first, signal.SIGKILL)

        def restarted() -> dict[str, Any] | None:
            again = _all_running(home)
            return again if again and again["parts"][0]["restarts"] == 1 else None

        again = wait_for("the engine restarted and running", restarted, up)
        second = int(again["parts"][0]["pid"])
        assert second != first  # running again = a heartbeat from the new process
        up.process.send_signal(signal.SIGTERM)
        assert up.wait() == 0, up.output()
    finally:
        terminate(up)
    out, err = up.output()
    assert gone(first) and gone(second)
    assert re.search(
        r"engine: crashed \(killed by SIGKILL after [0-9.]+ s\); restarting in 1 s", err
    )
    assert "(restart 1/5)" in err
    assert "engine: restarted (pid" in out
    [crash] = read_audit(db, action="platform.part_crashed")
    assert crash.target == "part:engine" and "killed by SIGKILL" in crash.reason
    assert crash.after is not None and crash.after["exit"] == -9

    engine_id = default_engine_id("serve", STRATEGY.name)
    saved = _checkpoints(db, engine_id)
    assert_nothing_lost(journal_trades(db), _reference(platform_env, db), saved)


@pytest.fixture
def migrated_env(tmp_path: Path) -> dict[str, str]:
    """A fresh embedded CVN_HOME with the schema only."""
    env = _clean_env(tmp_path)
    ok(env, "db", "upgrade")
    return env


def test_a_busy_port_refuses_to_start_naming_it_with_exit_4(
    migrated_env: dict[str, str],
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for option, other in (("--console-port", "--exporter-port"), ("--exporter-port", None)):
            args = ["up", "--no-engine", option, str(port)]
            if other:
                args += [other, str(free_port())]
            else:
                args += ["--console-port", str(free_port())]
            done = cvntrade(migrated_env, *args)
            assert done.returncode == 4, done.stderr
            [line] = done.stderr.strip().splitlines()
            assert f"port {port} on 127.0.0.1 is already in use" in line
            assert option in line
    # Nothing was started nor changed: no console admin created, nothing audited.
    assert json.loads(ok(migrated_env, "users", "list", "--json")) == []
    home = Path(migrated_env["CVN_HOME"])
    engine = create_db_engine(f"sqlite:///{home / 'cvntrade.db'}")
    assert read_audit(engine) == []
    engine.dispose()


def test_up_refuses_bad_setups_with_one_line_and_exit_2(migrated_env: dict[str, str]) -> None:
    port = str(free_port())
    cases = [
        (["--no-engine", "--no-exporter", "--no-console"], "nothing to start"),
        (
            ["--no-engine", "--no-exporter", "--no-create-admin", "--console-port", port],
            "users add",
        ),
        (["--no-exporter", "--no-console"], "no 1h market data under"),
        (["--no-engine", "--console-port", port, "--exporter-port", port], "same port"),
        (["--since", "yesterday-ish", "--symbols", "BTCUSDC"], "--since"),
    ]
    for args, message in cases:
        done = cvntrade(migrated_env, "up", *args)
        assert done.returncode == 2, (args, done.stderr)
        [line] = done.stderr.strip().splitlines()
        assert message in line, (args, line)
    assert json.loads(ok(migrated_env, "users", "list", "--json")) == []
