"""A fold whose test block has one class: metrics undefined, and no automatic champion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from cvntrade.cli.train_cmd import UNDEFINED_WHEN_ONE_CLASS, _cell
from cvntrade.market import ParquetStore
from cvntrade.registry import MlflowRegistry
from cvntrade.settings import Settings
from cvntrade.training.api import run_training
from cvntrade.training.booster import BoosterParams


def calm_middle_market(n: int = 2400) -> pd.DataFrame:
    """Hourly bars, volatile except bars 620-1300, where prices barely move (a market
    closed for a holiday season, or a pegged period): a 1 % take profit is never reached."""
    rng = np.random.default_rng(4)
    calm = (np.arange(n) >= 620) & (np.arange(n) < 1300)  # covers the test block of fold 1
    returns = rng.normal(0, np.where(calm, 0.00005, 0.01))
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.concatenate(([100.0], close[:-1]))
    wick = np.where(calm, 0.00001, 0.004)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="h"),
            "open": open_,
            "high": np.maximum(open_, close) * (1 + wick),
            "low": np.minimum(open_, close) * (1 - wick),
            "close": close,
            "volume": rng.uniform(10, 20, n),
        }
    )


def test_one_class_fold_blocks_the_automatic_champion(
    engine: Engine, tmp_path: Path, tracking_uri: str, training_settings: Settings
) -> None:
    store = ParquetStore(tmp_path / "data")
    store.write("BTCUSDC", "1h", calm_middle_market(), source="test")
    result = run_training(
        engine,
        symbol="BTCUSDC",
        strategy="SL1_TP1_H4",
        folds=3,
        tracking_uri=tracking_uri,
        store=store,
        params=BoosterParams(rounds=10),
        settings=training_settings,
    )
    rates = [fold["positive_rate"] for fold in result.fold_metrics]
    assert rates[0] == 0.0 and 0.2 < rates[1] < 0.8  # fold 1 tests the calm quarter
    assert result.degenerate_folds == (1,)
    assert result.version == 1 and result.champion_version is None
    assert not result.became_champion
    assert MlflowRegistry(tracking_uri).aliases(result.model_name) == {}
    fold = result.fold_metrics[0]
    assert {_cell(fold, name) for name in UNDEFINED_WHEN_ONE_CLASS} == {"undefined"}
    assert _cell(result.fold_metrics[1], "log_loss") != "undefined"
