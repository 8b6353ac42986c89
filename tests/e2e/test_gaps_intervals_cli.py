"""Real-market shapes through the CLI: gapped FX-like hours, daily bars, monthly kline files,
one-class labels; `--interval 1d` from synth to train to paper trading (real MLflow store,
SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from kline_files import monthly_files
from mlflow import MlflowClient
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from cvntrade.cli import main
from cvntrade.db.tables import trade_journal
from cvntrade.errors import CvnError
from cvntrade.features import dataset_from_bars
from cvntrade.market import ParquetStore
from cvntrade.settings import get_settings
from cvntrade.strategy import Strategy

FAST = ("--folds", "2", "--rounds", "10")


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def env(
    db_url: str, tmp_path: Path, mlflow_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """An empty CVN_HOME, a migrated database, a fresh MLflow store."""
    shutil.copy(mlflow_template, tmp_path / "mlflow.db")
    values = {
        "CVN_HOME": str(tmp_path / "home"),
        "CVN_DATABASE_URL": db_url,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "CVN_ACTOR": "tester",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield {**{k: v for k, v in os.environ.items() if not k.startswith("CVN_")}, **values}
    get_settings.cache_clear()


def cli(*args: str) -> Outcome:
    result = CliRunner().invoke(main.app, list(args))
    if isinstance(result.exception, CvnError):
        return Outcome(result.exception.exit_code, result.stdout, f"error: {result.exception}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def _registered(env: dict[str, str]) -> list[str]:
    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    return [m.name for m in client.search_registered_models()]


def test_one_class_labels_exit_2_and_register_nothing(env: dict[str, str]) -> None:
    synth = cli(
        "data", "synth", "--symbols", "EURUSD", "--start", "2024-01-01", "--end", "2024-06-01",
        "--session", "weekdays", "--json",
    )  # fmt: skip
    assert synth.code == 0, synth.stderr
    trained = cli("train", "--symbol", "EURUSD", "--strategy", "SL20_TP40_H4", *FAST)
    assert trained.code == 2
    assert "positive rate 0.00%" in trained.stderr
    assert "barriers that fit this asset: SL" in trained.stderr
    swept = cli(
        "sweep", "--symbols", "EURUSD", "--strategy", "SL20_TP40_H4", "--gammas", "1",
        "--alphas", "0.5", "--workers", "1", *FAST,
    )  # fmt: skip
    assert swept.code == 2 and "positive rate 0.00%" in swept.stderr
    assert _registered(env) == []
    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert runs == []

    rates = cli("data", "label-rates", "EURUSD", "--json")
    assert rates.code == 0, rates.stderr
    payload = json.loads(rates.stdout)
    fits = [r for r in payload["rates"] if r["fits"]]
    assert fits and all(0.25 <= r["positive_rate"] <= 0.6 for r in fits)
    bars = ParquetStore(Path(env["CVN_HOME"]) / "data").read("EURUSD", "1h")
    first = fits[0]
    data = dataset_from_bars(
        bars, symbol="EURUSD", strategy=Strategy.parse(first["strategy"]), interval="1h"
    )
    assert (first["rows"], first["positives"]) == (len(data), int(data.labels.label.sum()))

    ok = cli("train", "--symbol", "EURUSD", "--strategy", first["strategy"], *FAST)
    assert ok.code == 0, ok.stderr
    assert "gap" in ok.stdout and "dropped" in ok.stdout
    run = client.search_runs([e.experiment_id for e in client.search_experiments()])[0]
    assert run.data.params["rows_dropped_gap"] == str(data.dropped["gap"])
    assert run.data.params["rows"] == str(len(data))


def test_daily_bars_from_synth_to_train_to_paper_trading(env: dict[str, str]) -> None:
    synth = cli(
        "data", "synth", "--symbols", "BTCUSDC", "--interval", "1d", "--start", "2019-01-07",
        "--end", "2025-01-06", "--signal-strength", "2",
    )  # fmt: skip
    assert synth.code == 0, synth.stderr
    default = cli("train", "--symbol", "BTCUSDC", *FAST)
    assert default.code == 2
    assert "BTCUSDC has 1d bars; pass --interval 1d" in default.stderr
    hours = cli("train", "--symbol", "BTCUSDC", "--interval", "1d", *FAST)
    assert hours.code == 2 and "not a whole number of 1d bars" in hours.stderr
    daily = cli(
        "train", "--symbol", "BTCUSDC", "--interval", "1d", "--strategy", "SL2_TP4_D5",
        "--end", "2024-06-01", *FAST, "--json",
    )  # fmt: skip
    assert daily.code == 0, daily.stderr
    result = json.loads(daily.stdout)
    name = "CVNTrade_XGBoost_BTCUSDC_SL2_TP4_D5_1d"
    assert (result["model_name"], result["interval"]) == (name, "1d")
    assert result["dropped"]["warm_up"] == 95 and result["dropped"]["gap"] == 0
    assert _registered(env) == [name]
    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    assert client.get_registered_model(name).aliases == {"champion": 1}

    replay = cli(
        "trade", "paper", "--symbols", "BTCUSDC", "--strategy", "SL2_TP4_D5", "--interval",
        "1d", "--from", "2024-06-01", "--to", "2025-01-01", "--json",
    )  # fmt: skip
    assert replay.code == 0, replay.stderr
    report = json.loads(replay.stdout)
    assert report["predictions"] == 214  # one a day, 2024-06-01 .. 2024-12-31
    engine = create_engine(env["CVN_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            journal = pd.read_sql(select(trade_journal), conn)
    finally:
        engine.dispose()
    assert len(journal) == report["trades"] > 0
    assert set(journal["model_name"]) == {name}
    assert set(journal["strategy"]) == {"SL2_TP4_D5_1d"}
    held = journal["exit_time"] - journal["entry_time"]
    assert held.max() <= pd.Timedelta(days=5)


def test_monthly_kline_files_are_checked_and_filled_as_one_series(
    env: dict[str, str], tmp_path: Path
) -> None:
    jan, mar = monthly_files(tmp_path, ["2024-01", "2024-03"])
    checked = cli("data", "validate", "--file", str(jan), "--file", str(mar), "--json")
    assert checked.code == 2
    results = json.loads(checked.stdout)
    assert [r["ok"] for r in results] == [True, True, False]
    assert "gap of 29 missing bar(s)" in results[2]["problem"]
    imported = cli("data", "import-binance", str(jan), str(mar))
    assert imported.code == 2 and f"{mar}: gap of 29 missing bar(s) after {jan}" in imported.stderr
    assert not list((Path(env["CVN_HOME"]) / "data").rglob("*.parquet"))
    jan, feb, mar = monthly_files(tmp_path, ["2024-01", "2024-02-27", "2024-03"])
    filled = cli("data", "import-binance", str(jan), str(feb), str(mar), "--fill-gaps", "--json")
    assert filled.code == 0, filled.stderr
    assert [r["filled_bars"] for r in json.loads(filled.stdout)] == [0, 3, 0]
    shown = cli("data", "show", "BTCUSDC", "--json")
    assert shown.code == 2 and "BTCUSDC has 1d bars; pass --interval 1d" in shown.stderr


def test_a_weekday_session_series_validates_with_its_weekend_gaps(env: dict[str, str]) -> None:
    args = ("--symbols", "EURUSD", "--start", "2024-01-01", "--end", "2024-02-01")
    assert cli("data", "synth", *args, "--session", "weekdays").code == 0
    checked = cli("data", "validate", "EURUSD", "--json")
    assert checked.code == 0, checked.stdout
    assert json.loads(checked.stdout)[0]["gaps"] == 4  # four weekends in January 2024
    store = ParquetStore(Path(env["CVN_HOME"]) / "data")
    bars = store.read("EURUSD", "1h")
    store.write("GBPUSD", "1h", bars, source="csv")  # same gaps, but not a session series
    refused = cli("data", "validate", "GBPUSD")
    assert refused.code == 2 and "exceeds the tolerance of 3" in refused.stderr
