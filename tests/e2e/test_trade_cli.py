"""`cvntrade trade|kill-switch|halt` through the real process, with real registered bundles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import xgboost as xgb
from mlflow import MlflowClient

from cvntrade.features import build_dataset
from cvntrade.strategy import Strategy, model_name
from cvntrade.training.bundle import ModelBundle, write_bundle

STRATEGY = Strategy.parse("SL0.5_TP1_H4")
NAME = model_name("BTCUSDC", STRATEGY)


def _cvntrade(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # hang guard, not a speed limit
    )


def _ok(env: dict[str, str], *args: str) -> str:
    done = _cvntrade(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def trading_env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Market data, and v1 binary / v2 focal (champion) bundles registered in MLflow."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**cli_env, "MLFLOW_TRACKING_URI": uri}
    _ok(env, "db", "upgrade")
    _ok(
        env,
        "data",
        "synth",
        "--symbols",
        "BTCUSDC",
        "--start",
        "2025-01-01",
        "--end",
        "2025-03-01",
        "--interval",
        "1h",
        "--seed",
        "3",
    )
    data = build_dataset(
        "BTCUSDC",
        STRATEGY,
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2025-02-01"),
        data_dir=Path(env["CVN_HOME"]) / "data",
    )
    matrix = xgb.DMatrix(data.features.to_numpy(), label=(data.labels.label == 1))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(NAME)
    for loss in ("binary", "focal"):
        booster = xgb.train(
            {"max_depth": 3, "objective": "binary:logistic", "nthread": 1},
            matrix,
            num_boost_round=20,
        )
        directory = tmp_path / f"bundle-{loss}"
        write_bundle(
            ModelBundle(
                booster,
                tuple(data.features.columns),
                loss,
                "none",
                1.0,
                0.35,
                STRATEGY.name,
                "BTCUSDC",
            ),
            directory,
        )
        client.create_model_version(NAME, source=str(directory), tags={"loss_function": loss})
    client.set_registered_model_alias(NAME, "champion", "2")
    return env


def _range(command: str, start: str, end: str) -> list[str]:
    return ["trade", command, "--symbols", "BTCUSDC", "--from", start, "--to", end, "--json"]


def test_paper_engine_status_switches_and_halt(trading_env: dict[str, str]) -> None:
    paper = _range("paper", "2025-02-01", "2025-02-15")
    first = json.loads(_ok(trading_env, *paper))
    assert first["trades"] > 0
    assert first["bars"] == first["predictions"] == 14 * 24
    assert first["versions"] == {"BTCUSDC": [2]}
    again = _cvntrade(trading_env, *paper)
    assert again.returncode == 2
    assert "already traded BTCUSDC up to 2025-02-14T23:00Z" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1

    status = json.loads(_ok(trading_env, "trade", "status", "--json"))
    [row] = status["engines"]
    assert (row["crypto_symbol"], row["model_version"], row["model_loss_function"]) == (
        "BTCUSDC",
        2,
        "focal",
    )
    assert row["engine_id"].startswith("paper:SL0.5_TP1_H4@")

    _ok(trading_env, "kill-switch", "on", "--reason", "drill")
    killed = json.loads(_ok(trading_env, *_range("paper", "2025-02-15", "2025-02-28")))
    assert killed["trades"] == 0 and killed["predictions"] > 0
    assert "already ON" in _ok(trading_env, "kill-switch", "on", "--reason", "again")
    _ok(trading_env, "kill-switch", "off", "--reason", "drill over")

    _ok(trading_env, "halt", "on", "--reason", "ADR-71 drill")
    halted = _cvntrade(trading_env, *_range("paper", "2025-02-28", "2025-03-01"))
    assert halted.returncode == 5
    assert halted.stderr.startswith("error: trading is halted (ADR-71): ADR-71 drill")
    assert len(halted.stderr.strip().splitlines()) == 1
    assert json.loads(_ok(trading_env, "trade", "status", "--json"))["halt"] is True
    _ok(trading_env, "halt", "off", "--reason", "drill over")


def test_replay_is_a_new_backtest_run_each_time(trading_env: dict[str, str]) -> None:
    replay = _range("replay", "2025-02-01", "2025-02-15")
    first = json.loads(_ok(trading_env, *replay))
    second = json.loads(_ok(trading_env, *replay))
    assert second["id"] == first["id"] + 1
    for run in (first, second):
        assert run["status"] == "finished" and run["into_journal"] is False
        assert run["summary"]["predictions"] == run["summary"]["bars"] == 14 * 24
        assert run["summary"]["trades"] > 0
        assert run["served_versions"] == {"BTCUSDC": [2]}
    assert first["summary"] == second["summary"]
    text = _ok(trading_env, *replay[:-1])
    assert "backtest run 3 (finished)" in text and "production journal untouched" in text
    assert json.loads(_ok(trading_env, "trade", "status", "--json"))["engines"] == []

    listed = json.loads(_ok(trading_env, "trade", "runs", "list", "--json"))
    assert [r["id"] for r in listed] == [3, 2, 1]
    shown = json.loads(_ok(trading_env, "trade", "runs", "show", "1", "--json"))
    assert shown == first
    deleted = json.loads(
        _ok(trading_env, "trade", "runs", "delete", "1", "--reason", "duplicate", "--json")
    )
    assert deleted["deleted"]["trades"] == first["summary"]["trades"]
    missing = _cvntrade(trading_env, "trade", "runs", "show", "1")
    assert missing.returncode == 2
    assert "no backtest run 1" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trade", "live", "--symbols", "BTCUSDC"], "only paper trading is supported"),
        (
            [
                "trade",
                "replay",
                "--symbols",
                "BTCUSDC",
                "--from",
                "2025-02-10",
                "--to",
                "2025-02-01",
            ],
            "must be after --from",
        ),
        (
            ["trade", "replay", "--symbols", "btc", "--from", "2025-02-01", "--to", "2025-02-10"],
            "invalid symbol 'btc'",
        ),
        (["kill-switch", "on", "--reason", " "], "--reason"),
    ],
)
def test_bad_trade_input(cli_env: dict[str, str], args: list[str], message: str) -> None:
    done = _cvntrade(cli_env, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
