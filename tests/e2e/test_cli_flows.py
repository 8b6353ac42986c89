"""The operator's flows through the real `cvntrade` process, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from cvntrade.drill import SCENARIOS, generate_drill_trades

REPO = Path(__file__).resolve().parents[2]


def _cvntrade(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # hang guard, not a speed limit
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done


def test_acceptance_flow_drill_flip_and_runbook_answers(cli_env: dict[str, str]) -> None:
    _cvntrade(cli_env, "db", "upgrade")
    assert "(up to date)" in _cvntrade(cli_env, "db", "current").stdout
    drill = json.loads(
        _cvntrade(
            cli_env,
            "drill",
            "journal",
            "--scenario",
            "focal-regression",
            "--into-database",
            "--json",
        ).stdout
    )
    assert drill["negative_symbols"] == list(SCENARIOS["focal-regression"])
    flip = json.loads(
        _cvntrade(
            cli_env,
            "config",
            "set",
            "CVN_LOSS_FUNCTION=focal",
            "CVN_FOCAL_GAMMA=2.0",
            "CVN_FOCAL_ALPHA=0.25",
            "--reason",
            "test",
            "--expect-version",
            "1",
            "--json",
        ).stdout
    )
    assert (flip["version_before"], flip["version"]) == (1, 2)

    step1 = json.loads(_cvntrade(cli_env, "expectancy", "--window", "48h", "--json").stdout)
    assert step1["negative_symbols"] == sorted(SCENARIOS["focal-regression"])
    table = _cvntrade(cli_env, "expectancy").stdout
    assert "3 negative symbol(s): BTCUSDC, ETHUSDC, SOLUSDC" in table

    step2 = json.loads(_cvntrade(cli_env, "config", "show", "--json").stdout)
    assert step2["base_env"]["CVN_LOSS_FUNCTION"] == "focal"
    assert step2["version"] == 2

    folds = json.loads(_cvntrade(cli_env, "expectancy", "folds", "--json").stdout)
    assert {f["crypto_symbol"] for f in folds if f["regime_shift"]} == set(
        SCENARIOS["focal-regression"]
    )

    history = json.loads(_cvntrade(cli_env, "config", "history", "--json").stdout)
    assert history[0]["actor"] == "tester"
    assert history[0]["changes"]["CVN_LOSS_FUNCTION"] == {
        "before": "binary:logistic",
        "after": "focal",
    }
    assert "binary:logistic → focal" in _cvntrade(cli_env, "config", "history").stdout


def test_import_then_reimport_through_the_cli(cli_env: dict[str, str], tmp_path: Path) -> None:
    _cvntrade(
        cli_env,
        "drill",
        "journal",
        "--scenario",
        "healthy",
        "--now",
        "2026-11-20T10:00Z",
        "--into-database",
    )
    trades = generate_drill_trades("single-symbol", now=dt.datetime(2026, 11, 24), seed=1)[:25]
    frame = pd.DataFrame([{**t.as_row(), "trade_id": f"ext-{i}"} for i, t in enumerate(trades)])
    frame.drop(columns=["source"]).to_csv(tmp_path / "ext.csv", index=False)
    first = json.loads(
        _cvntrade(cli_env, "journal", "import", str(tmp_path / "ext.csv"), "--json").stdout
    )
    again = json.loads(
        _cvntrade(cli_env, "journal", "import", str(tmp_path / "ext.csv"), "--json").stdout
    )
    assert (first[0]["inserted"], first[0]["skipped_existing"]) == (25, 0)
    assert (again[0]["inserted"], again[0]["skipped_existing"]) == (0, 25)


def test_help_explains_every_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    env["CVN_HOME"] = str(tmp_path)
    commands = [
        [],
        ["db"],
        ["db", "upgrade"],
        ["db", "current"],
        ["config"],
        ["config", "show"],
        ["config", "set"],
        ["config", "history"],
        ["journal"],
        ["journal", "import"],
        ["expectancy"],
        ["expectancy", "folds"],
        ["drill"],
        ["drill", "journal"],
        ["trade", "paper"],
        ["trade", "replay"],
        ["trade", "runs"],
        ["trade", "runs", "delete"],
        ["drill", "scenario"],
        ["demo"],
    ]
    for args in commands:
        out = _cvntrade(env, *args, "--help").stdout
        assert "Usage:" in out
        assert len(out.splitlines()) > 5
