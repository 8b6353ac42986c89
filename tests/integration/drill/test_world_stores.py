"""A new world's empty stores: copies of a database at the newest schema and of an MLflow store
MLflow itself migrated, made once per process; each world gets its own, independent copy."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from cvntrade.db import create_db_engine
from cvntrade.db.migrate import current_revision, head_revision
from cvntrade.drill.world_stores import install_empty_stores, templates


def test_each_world_gets_its_own_empty_stores_at_the_current_schemas(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for home in (first, second):
        home.mkdir()
        install_empty_stores(home)
    engine = create_db_engine(f"sqlite:///{first / 'cvntrade.db'}")
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    uri = f"sqlite:///{first / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert client.search_registered_models() == []
    client.create_registered_model("CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4")
    # The other world, and the template of the next ones, did not see it.
    other = f"sqlite:///{second / 'mlflow.db'}"
    assert MlflowClient(tracking_uri=other, registry_uri=other).search_registered_models() == []
    source = f"sqlite:///{templates() / 'mlflow.db'}"
    assert MlflowClient(tracking_uri=source, registry_uri=source).search_registered_models() == []
