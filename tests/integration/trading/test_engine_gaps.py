"""The engine on gapped data (FX-like weekend closures): same usable bars as the training
dataset, row for row, and no position held across a gap longer than the horizon."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow import MlflowClient
from sqlalchemy import Engine, select
from trading_support import BoosterModel

from cvntrade.db.tables import predictions, trade_journal
from cvntrade.features import dataset_from_bars, horizon_complete
from cvntrade.market import ParquetStore, generate_market, timestamps_ms
from cvntrade.registry import MlflowRegistry
from cvntrade.strategy import Strategy, model_name
from cvntrade.trading.engine import Costs, load_book
from cvntrade.trading.service import EngineSetup, run_paper

SYMBOL = "EURUSD"
STRATEGY = Strategy.parse("SL0.5_TP1_H4")
HOUR = 3_600_000
HORIZON_MS = 4 * HOUR
START, TRAIN_END, END = dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 12), dt.datetime(2024, 3, 25)


@pytest.fixture(scope="module")
def fx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fx")
    market = generate_market(
        [SYMBOL], pd.Timestamp(START), pd.Timestamp(END), seed=9, session="weekdays"
    )
    ParquetStore(root).write(SYMBOL, "1h", market.frames[SYMBOL], source="synthetic")
    return root


@pytest.fixture(scope="module")
def model(fx_dir: Path) -> BoosterModel:
    """A real booster trained on the dataset's rows; threshold 0 so the book is always busy."""
    bars = ParquetStore(fx_dir).read(SYMBOL, "1h", None, pd.Timestamp(TRAIN_END))
    data = dataset_from_bars(bars, symbol=SYMBOL, strategy=STRATEGY, interval="1h")
    matrix = xgb.DMatrix(data.features.to_numpy(), label=(data.labels.label == 1))
    booster = xgb.train({"max_depth": 2, "nthread": 1}, matrix, num_boost_round=10)
    return BoosterModel(booster, threshold=0.0, loss_function="binary")


def _setup(engine: Engine, tmp_path: Path, model: BoosterModel) -> EngineSetup:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = model_name(SYMBOL, STRATEGY)
    client.create_registered_model(name)
    client.create_model_version(name, source=str(tmp_path), tags={"loss_function": "binary"})
    client.set_registered_model_alias(name, "champion", "1")
    return EngineSetup(
        db=engine,
        registry=MlflowRegistry(uri),
        loader=lambda _name, _version: model,
        symbols=(SYMBOL,),
        strategy=STRATEGY,
        interval="1h",
        costs=Costs(fees_pct=0.1, slippage_pct=0.02),
        poll_s=3600.0,
        engine_id="gap-test",
    )


def test_engine_and_dataset_agree_row_for_row(fx_dir: Path) -> None:
    bars = ParquetStore(fx_dir).read(SYMBOL, "1h")
    book = load_book(SYMBOL, bars, "1h")
    data = dataset_from_bars(
        bars, symbol=SYMBOL, strategy=STRATEGY, interval="1h", start=pd.Timestamp(TRAIN_END)
    )
    ms = timestamps_ms(bars)
    labelled = horizon_complete(ms, HOUR, 4) & (ms >= int(pd.Timestamp(TRAIN_END).value // 10**6))
    rows = data.timestamps.astype("datetime64[ms]").astype(np.int64)
    assert np.array_equal(ms[book.valid & labelled], rows)
    # the gapped weeks make the rule bite: most bars of a trading week are not usable
    assert 0.1 < book.valid.mean() < 0.5


def test_replay_scores_only_usable_bars_and_never_holds_across_a_weekend(
    engine: Engine, tmp_path: Path, fx_dir: Path, model: BoosterModel
) -> None:
    report = run_paper(_setup(engine, tmp_path, model), data_dir=fx_dir, start=TRAIN_END, end=END)
    bars = ParquetStore(fx_dir).read(SYMBOL, "1h")
    book = load_book(SYMBOL, bars, "1h")
    ms = timestamps_ms(bars)
    in_range = ms >= int(pd.Timestamp(TRAIN_END).value // 10**6)
    with engine.connect() as conn:
        predicted = pd.read_sql(select(predictions.c.bar_time), conn)["bar_time"]
        journal = pd.read_sql(select(trade_journal), conn)
    predicted_open = np.sort(predicted.to_numpy().astype("datetime64[ms]").astype(np.int64) - HOUR)
    assert np.array_equal(predicted_open, ms[book.valid & in_range])
    assert report.predictions == len(predicted_open) > 0
    assert report.trades == len(journal) > 10
    gapped = journal[journal["exit_reason"] == "data_gap"]
    assert len(gapped) > 0
    # a data_gap exit happens at the close of the last bar before the closure: Friday 22:00
    assert set(gapped["exit_time"].dt.day_of_week) == {4}
    assert set(gapped["exit_time"].dt.hour) == {22}
    for trade in journal.itertuples():
        entry = int(pd.Timestamp(trade.entry_time).value // 10**6)
        exit_ = int(pd.Timestamp(trade.exit_time).value // 10**6)
        held = ms[(ms >= entry) & (ms < exit_)]
        assert held.size > 0
        assert (np.diff(held) <= HOUR + HORIZON_MS).all(), trade.trade_id
        assert exit_ - held[-1] <= HOUR + HORIZON_MS, trade.trade_id
