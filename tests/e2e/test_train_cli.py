"""`cvntrade train …` end to end: JSON, table, recalibration and bad input, real MLflow store.

Commands run in-process through a Typer app that registers `train_cmd.train_command` as
`train` (as `cli.main` does) and maps `CvnError` to exit codes like `cvntrade.cli.main.run`;
bad input also runs in a real subprocess to prove the one-line error and exit code 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from cvntrade.cli import main
from cvntrade.errors import CvnError
from cvntrade.market import ParquetStore, generate_market, validate_ohlcv
from cvntrade.settings import get_settings

NAME = "CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4"
FAST = ("--folds", "2", "--rounds", "10")


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def env(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """CVN_HOME with 100 days of synthetic BTCUSDC bars, a migrated database, an MLflow store."""
    home = tmp_path / "home"
    market = generate_market(["BTCUSDC"], pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-10"))
    frame = validate_ohlcv(market.frames["BTCUSDC"], source="synthetic", interval="1h").frame
    ParquetStore(home / "data").write("BTCUSDC", "1h", frame, source="synthetic")
    values = {
        "CVN_HOME": str(home),
        "CVN_DATABASE_URL": sqlite_url,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "CVN_ACTOR": "tester",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield {**{k: v for k, v in os.environ.items() if not k.startswith("CVN_")}, **values}
    get_settings.cache_clear()


def cli(*args: str) -> Outcome:
    result = CliRunner().invoke(main.app, ["train", *args])
    if isinstance(result.exception, CvnError):
        return Outcome(result.exception.exit_code, result.stdout, f"error: {result.exception}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def run(env: dict[str, str], *args: str) -> Outcome:
    done = subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", "train", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,  # hang guard, not a speed limit
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def test_train_binary_json_then_focal_table_then_recalibrate(env: dict[str, str]) -> None:
    first = cli("--symbol", "BTCUSDC", "--strategy", "SL0.5_TP1_H4", *FAST, "--json")
    assert first.code == 0, first.stderr
    payload = json.loads(first.stdout)
    assert (payload["version"], payload["loss_function"], payload["calibration"]) == (
        1,
        "binary",
        "none",
    ), "defaults from ftf_config"
    assert payload["became_champion"] and len(payload["fold_metrics"]) == 2
    assert "bundle" not in payload and "fold 2/2" in first.stderr

    focal = cli(
        "--symbol",
        "BTCUSDC",
        "--loss",
        "focal",
        "--gamma",
        "1",
        "--alpha",
        "0.4",
        "--calibration",
        "temperature_scaling",
        *FAST,
    )
    assert focal.code == 0, focal.stderr
    assert "version 2: focal (gamma 1, alpha 0.4), calibration temperature_scaling" in focal.stdout
    for text in ("fold 1", "fold 2", "overall", "ece_hold", "champion stays at version 1"):
        assert text in focal.stdout

    recalibrated = cli("--symbol", "BTCUSDC", "--recalibrate-only", "--recent-days", "20", "--json")
    assert recalibrated.code == 0, recalibrated.stderr
    again = json.loads(recalibrated.stdout)
    assert (again["version"], again["recalibrated_from"], again["loss_function"]) == (
        3,
        1,
        "binary",
    )

    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    tags = {v: client.get_model_version(NAME, str(v)).tags for v in (1, 2, 3)}
    assert [tags[v]["loss_function"] for v in (1, 2, 3)] == ["binary", "focal", "binary"]
    assert (tags[2]["focal_gamma"], tags[2]["focal_alpha"]) == ("1.0", "0.4")
    assert tags[3]["calibration"] == "temperature_scaling"
    assert client.get_registered_model(NAME).aliases == {"champion": 1}


def test_bad_input_is_one_line_and_exit_two_in_a_real_process(env: dict[str, str]) -> None:
    outcome = run(env, "--symbol", "BTCUSDC", "--loss", "hinge")
    assert outcome.code == 2, outcome.stderr
    assert outcome.stderr.strip().splitlines() == [
        "error: unknown loss 'hinge': use binary:logistic or focal"
    ]
    assert outcome.stdout == ""


def test_missing_market_data_names_the_command_that_loads_it(env: dict[str, str]) -> None:
    outcome = cli("--symbol", "SOLUSDC")
    assert outcome.code == 2
    assert outcome.stderr.startswith("error: no 1h market data for SOLUSDC")
    assert "cvntrade data synth --symbols SOLUSDC" in outcome.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--symbol", "btc"), "invalid symbol 'btc'"),
        (("--symbol", "BTCUSDC", "--strategy", "SL1"), "invalid strategy 'SL1'"),
        (("--symbol", "BTCUSDC", "--folds", "0"), "--folds must be between 1 and 20"),
        (("--symbol", "BTCUSDC", "--scheme", "random"), "unknown --scheme 'random'"),
        (("--symbol", "BTCUSDC", "--calibration", "platt"), "unknown calibration 'platt'"),
        (("--symbol", "BTCUSDC", "--loss", "focal", "--alpha", "1.5"), "--alpha must be in"),
        (("--symbol", "BTCUSDC", "--gamma", "2"), "apply to the focal loss only"),
    ],
)
def test_each_bad_option_is_a_user_error(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    outcome = cli(*args)
    assert outcome.code == 2
    assert message in outcome.stderr
