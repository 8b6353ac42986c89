"""Runbook fixtures: a real MLflow sqlite store per test (copied from a migrated template).

MLflow migrates a new sqlite store on first use (about 2 s); copying a store migrated once per
session gives every test its own registry with the canonical model names for a few ms.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from runbook_support import ALL_SYMBOLS, MakeModels

from cvntrade.registry import MlflowRegistry
from cvntrade.strategy import DEFAULT_STRATEGY, model_name


@pytest.fixture
def tracking_uri(mlflow_template: Path, tmp_path: Path) -> str:
    """A fresh MLflow store for one test."""
    path = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def registry(tracking_uri: str) -> MlflowRegistry:
    """Our registry wrapper on the test's MLflow store."""
    return MlflowRegistry(tracking_uri)


@pytest.fixture
def make_models(registry: MlflowRegistry, tmp_path: Path) -> MakeModels:
    """Register `CVNTrade_XGBoost_{SYMBOL}_SL0.5_TP1_H4` per symbol with tagged versions.

    `losses` are the versions' `loss_function` tags, oldest first (None = untagged); the
    champion is the newest version unless `champion` says otherwise. Returns symbol → name.
    """

    def make(
        symbols: Sequence[str] = ALL_SYMBOLS,
        losses: Sequence[str | None] = ("binary", "binary", "focal"),
        champion: int | None = None,
    ) -> dict[str, str]:
        names = {}
        for symbol in symbols:
            name = model_name(symbol, DEFAULT_STRATEGY)
            registry.client.create_registered_model(name)
            for loss in losses:
                tags = {} if loss is None else {"loss_function": loss}
                registry.client.create_model_version(name, source=str(tmp_path), tags=tags)
            registry.client.set_registered_model_alias(
                name, "champion", str(champion or len(losses))
            )
            names[symbol] = name
        return names

    return make
