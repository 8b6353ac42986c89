"""Issue 16.7: every bad input is one line and exit 2, the same on SQLite and PostgreSQL.

Each case used to be accepted (and stored wrongly), or to print a traceback on one backend only.
The journal is checked to be unchanged after every refusal.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hardening_support import Outcome, cli_in_process
from sqlalchemy import Engine

from cvntrade.drill.journal_drill import generate_drill_trades
from cvntrade.journal.repository import count_trades


@pytest.fixture
def cli(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """`cvntrade ARGS` in this process against the test's database."""
    return cli_in_process(cli_env, monkeypatch, capsys)


def _rows(n: int = 3) -> list[dict[str, Any]]:
    trades = generate_drill_trades("healthy", now=dt.datetime(2026, 11, 24), seed=1)[:n]
    rows = [{**t.as_row(), "trade_id": f"ext-{i}"} for i, t in enumerate(trades)]
    for row in rows:
        del row["source"]
    return rows


def _refused(outcome: Outcome, *words: str) -> None:
    assert outcome.code == 2, outcome.err
    assert outcome.err.startswith("error: ") and outcome.err.count("\n") == 1, outcome.err
    for word in words:
        assert word in outcome.err


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("realized_pnl_pct", "1e308", ["realized_pnl_pct must be in"]),
        ("realized_pnl_pct", "-5000", ["realized_pnl_pct must be in"]),
        ("fees_pct", "1e300", ["fees_pct must be in"]),
        ("entry_price", "1e300", ["entry_price must be"]),
        ("model_version", "99999999999999999999", ["model_version"]),
        ("entry_time", "now", ["entry_time is not a timestamp"]),
        ("entry_time", "today", ["entry_time is not a timestamp"]),
        ("entry_time", "10:00", ["entry_time is not a timestamp"]),
        ("entry_time", "30/11/2026", ["entry_time is not a timestamp"]),
        ("entry_time", "0001-01-01", ["entry_time 0001-01-01"]),
        ("model_name", "M" * 121, ["model_name is longer than 120"]),
        ("trade_id", "T" * 129, ["trade_id is longer than 128"]),
        ("model_name", "bad\x1bname", ["model_name contains a control character"]),
    ],
)
def test_csv_values_out_of_range_are_refused_and_nothing_is_written(
    engine: Engine, cli: Any, tmp_path: Path, column: str, value: str, words: list[str]
) -> None:
    rows = _rows()
    rows[1][column] = value
    path = tmp_path / "bad.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    _refused(cli("journal", "import", str(path)), f"{path}: row 2", *words)
    assert count_trades(engine) == 0


@pytest.mark.parametrize(
    ("column", "values", "words"),
    [
        ("entry_time", "epoch_ms", ["entry_time is not a timestamp", "int"]),
        ("trade_id", "bytes", ["trade_id must be text (got bytes)"]),
        ("trade_id", "list", ["trade_id must be text"]),
    ],
)
def test_parquet_columns_of_the_wrong_type_are_refused(
    engine: Engine, cli: Any, tmp_path: Path, column: str, values: str, words: list[str]
) -> None:
    frame = pd.DataFrame(_rows())
    frame["entry_time"] = pd.to_datetime(frame["entry_time"])
    frame["exit_time"] = pd.to_datetime(frame["exit_time"])
    if values == "epoch_ms":
        frame[column] = frame[column].astype("int64") // 1_000_000
    elif values == "bytes":
        frame[column] = [s.encode() for s in frame[column]]
    else:
        frame[column] = [[s] for s in frame[column]]
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    _refused(cli("journal", "import", str(path)), f"{path}: row 1", *words)
    assert count_trades(engine) == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["expectancy", "--window", "99999999h"], ["invalid window", "at most 3650 days"]),
        (["expectancy", "--now", "0001-01-01"], ["invalid --now", "between 2000 and 2100"]),
        (["runbook", "confirm", "--now", "9999-12-31T23:59"], ["invalid --now"]),
        (["expectancy", "folds", "--now", "today"], ["invalid --now"]),
        (
            [
                "models",
                "set-alias",
                "--name",
                "M",
                "--alias",
                "champion",
                "--version",
                "99999999999999999999",
                "--reason",
                "r",
            ],
            ["--version must be between 1 and 2147483647"],
        ),
    ],
)
def test_cli_values_out_of_range_are_refused(
    engine: Engine, cli: Any, args: list[str], words: list[str]
) -> None:
    _refused(cli(*args), *words)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cvn_home_pointing_at_a_file_is_refused(
    cli_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "not-a-dir"
    home.write_text("x")
    monkeypatch.delenv("CVN_DATABASE_URL", raising=False)
    env = {k: v for k, v in cli_env.items() if k != "CVN_DATABASE_URL"}
    outcome = cli_in_process({**env, "CVN_HOME": str(home)}, monkeypatch, capsys)("config", "show")
    _refused(outcome, "cannot create the database directory")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_corrupt_sqlite_database_is_refused(db_url: str, cli: Any) -> None:
    path = Path(db_url.removeprefix("sqlite:///"))
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database, it is garbage" * 100)
    _refused(cli("config", "show"), "unreadable")
