"""Training fixtures: a small synthetic market on disk and a fresh real MLflow store per test.

The market (2 symbols x 120 days of 1h bars, regime shift in April) is generated once per
worker. MLflow's own schema migrations take seconds on a new sqlite store, so they run once on a
template database that every test copies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from training_support import SYMBOLS

from cvntrade.market import ParquetStore, generate_market, validate_ohlcv
from cvntrade.settings import Settings


@pytest.fixture(scope="session")
def market_store(tmp_path_factory: pytest.TempPathFactory) -> ParquetStore:
    """Synthetic bars for `SYMBOLS`, 2024-01-01 .. 2024-05-01, stored like `cvntrade data synth`."""
    store = ParquetStore(tmp_path_factory.mktemp("market") / "data")
    market = generate_market(
        SYMBOLS,
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-05-01"),
        seed=11,
        regime_shift_at=pd.Timestamp("2024-04-01"),
    )
    for symbol, frame in market.frames.items():
        checked = validate_ohlcv(frame, source=f"synthetic {symbol}", interval="1h")
        store.write(symbol, "1h", checked.frame, source="synthetic")
    return store


@pytest.fixture
def tracking_uri(mlflow_template: Path, tmp_path: Path) -> str:
    """A fresh MLflow store (copy of the template) for one test."""
    target = tmp_path / "mlflow" / "mlflow.db"
    target.parent.mkdir()
    shutil.copyfile(mlflow_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def training_settings(tmp_path: Path) -> Settings:
    """Settings with CVN_HOME in the test's directory and the default costs."""
    return Settings(home=tmp_path / "home", fees_pct=0.1, slippage_pct=0.02)
