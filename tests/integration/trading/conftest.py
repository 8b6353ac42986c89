"""A small synthetic market, real XGBoost champions and a real MLflow registry for engine tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import xgboost as xgb
from mlflow import MlflowClient
from trading_support import END, START, STRATEGY, SYMBOLS, TRAIN_END, BoosterModel

from cvntrade.features import build_dataset
from cvntrade.market import ParquetStore, generate_market
from cvntrade.registry import MlflowRegistry
from cvntrade.strategy import model_name


@pytest.fixture(scope="session")
def market_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two symbols, 2.5 months of 1h bars, stored like `cvntrade data synth` does."""
    root = tmp_path_factory.mktemp("market")
    market = generate_market(SYMBOLS, pd.Timestamp(START), pd.Timestamp(END), seed=5)
    store = ParquetStore(root)
    for symbol, frame in market.frames.items():
        store.write(symbol, "1h", frame, source="synthetic")
    return root


@pytest.fixture(scope="session")
def boosters(market_dir: Path) -> dict[tuple[str, int], BoosterModel]:
    """Per symbol: version 1 (binary-like, high threshold) and version 2 (focal-like, lower)."""
    models = {}
    for symbol in SYMBOLS:
        data = build_dataset(
            symbol, STRATEGY, pd.Timestamp(START), pd.Timestamp(TRAIN_END), data_dir=market_dir
        )
        matrix = xgb.DMatrix(data.features.to_numpy(), label=(data.labels.label == 1))
        for version, (depth, threshold, loss) in enumerate(
            [(2, 0.40, "binary"), (3, 0.33, "focal")], start=1
        ):
            booster = xgb.train(
                {"max_depth": depth, "eta": 0.3, "objective": "binary:logistic", "nthread": 1},
                matrix,
                num_boost_round=15,
            )
            models[(model_name(symbol, STRATEGY), version)] = BoosterModel(booster, threshold, loss)
    return models


@pytest.fixture
def registry(tmp_path: Path) -> MlflowRegistry:
    """A real MLflow registry: each symbol's model has v1 binary, v2 focal = champion."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for symbol in SYMBOLS:
        name = model_name(symbol, STRATEGY)
        client.create_registered_model(name)
        for loss in ("binary", "focal"):
            client.create_model_version(name, source=str(tmp_path), tags={"loss_function": loss})
        client.set_registered_model_alias(name, "champion", "2")
    return MlflowRegistry(uri)


@pytest.fixture
def loader(
    boosters: dict[tuple[str, int], BoosterModel],
) -> Callable[[str, int], BoosterModel]:
    """Loads the trained booster of (model name, version)."""
    return lambda name, version: boosters[(name, version)]
