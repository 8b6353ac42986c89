"""The crash test's paper engine process (`run_paper`): reports every committed block on a pipe.

Started from a forkserver that has already imported the engine, XGBoost and MLflow, so each of
the test's many engine processes starts in milliseconds. Models are booster files
`MODELS_DIR/<model name>-v<version>.json` (real XGBoost boosters).
"""

from __future__ import annotations

import datetime as dt
from multiprocessing.connection import Connection
from pathlib import Path

import xgboost as xgb
from trading_support import STRATEGY, SYMBOLS, BoosterModel

from cvntrade.db import create_db_engine
from cvntrade.registry import MlflowRegistry
from cvntrade.trading.engine import Costs
from cvntrade.trading.service import EngineSetup, run_paper


def run_engine(report: Connection, args: list[str]) -> None:
    """Run the paper engine; the test kills this process at random points."""
    db_url, tracking_uri, market_dir, models_dir, start, end = args

    def load(name: str, version: int) -> BoosterModel:
        booster = xgb.Booster(model_file=str(Path(models_dir) / f"{name}-v{version}.json"))
        return BoosterModel(booster, 0.33, "focal" if version == 2 else "binary")

    setup = EngineSetup(
        db=create_db_engine(db_url),
        registry=MlflowRegistry(tracking_uri),
        loader=load,
        symbols=SYMBOLS,
        strategy=STRATEGY,
        interval="1h",
        costs=Costs(0.1, 0.02),
        poll_s=3600.0,
        engine_id="crash-test",
    )
    run_paper(
        setup,
        data_dir=Path(market_dir),
        start=dt.datetime.fromisoformat(start),
        end=dt.datetime.fromisoformat(end),
        on_block=lambda bars: report.send(("block", bars)),
        block_bars=4,
    )
    report.send(("done", 0))
