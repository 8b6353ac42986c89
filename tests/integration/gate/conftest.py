"""Gate fixtures: a tiny synthetic market, a fresh real MLflow store per test, settings.

The market (2 symbols x 60 days of 1h bars) is generated once per worker; MLflow's schema
migrations run once on a template store that every test copies (a few ms instead of ~2 s).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from gate_support import SYMBOLS

from cvntrade.market import ParquetStore, generate_market, validate_ohlcv
from cvntrade.settings import Settings


@pytest.fixture(scope="session")
def gate_store(tmp_path_factory: pytest.TempPathFactory) -> ParquetStore:
    """Synthetic bars for `SYMBOLS`, 2024-01-01 .. 2024-03-01, stored like `data synth`."""
    store = ParquetStore(tmp_path_factory.mktemp("gate-market") / "data")
    market = generate_market(
        SYMBOLS, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-01"), seed=3
    )
    for symbol, frame in market.frames.items():
        checked = validate_ohlcv(frame, source=f"synthetic {symbol}", interval="1h")
        store.write(symbol, "1h", checked.frame, source="synthetic")
    return store


@pytest.fixture
def new_tracking_uri(mlflow_template: Path, tmp_path: Path) -> Callable[[str], str]:
    """Make fresh MLflow stores (copies of the template) for one test, by name."""

    def make(name: str) -> str:
        target = tmp_path / f"mlflow-{name}" / "mlflow.db"
        target.parent.mkdir()
        shutil.copyfile(mlflow_template, target)
        return f"sqlite:///{target}"

    return make


@pytest.fixture
def tracking_uri(new_tracking_uri: Callable[[str], str]) -> str:
    """A fresh MLflow store for one test."""
    return new_tracking_uri("main")


@pytest.fixture
def gate_settings(tmp_path: Path) -> Settings:
    """Settings with CVN_HOME in the test's directory and the default costs."""
    return Settings(home=tmp_path / "home", fees_pct=0.1, slippage_pct=0.02)
