"""A real MLflow registry (sqlite store) shared by the registry tests of one worker."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from cvntrade.registry import MlflowRegistry

Versions = list[tuple[str, dict[str, str]]]


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow sqlite store per worker (its first use runs MLflow's own migrations)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def registry(tracking_uri: str) -> MlflowRegistry:
    """Our registry wrapper on the real MLflow store."""
    return MlflowRegistry(tracking_uri)


@pytest.fixture
def make_model(registry: MlflowRegistry, tmp_path: Path) -> Callable[..., str]:
    """Register a uniquely named model whose versions carry the given loss tags."""

    def make(losses: list[str | None], champion: int | None = None, symbol: str = "BTCUSDC") -> str:
        name = f"CVNTrade_XGBoost_{symbol}_SL0.5_TP1_H4_{uuid.uuid4().hex[:8]}"
        client = registry.client
        client.create_registered_model(name)
        for loss in losses:
            tags = {} if loss is None else {"loss_function": loss}
            client.create_model_version(name, source=str(tmp_path), tags=tags)
        if champion is not None:
            client.set_registered_model_alias(name, "champion", str(champion))
        return name

    return make
