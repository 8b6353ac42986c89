"""Training end to end on real XGBoost and a real MLflow sqlite store (issue 5 acceptance)."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from sqlalchemy import Engine, select
from training_support import FAST, FOLDS, STRATEGY, SYMBOLS

from cvntrade.config import read_config, set_config
from cvntrade.db import create_db_engine
from cvntrade.db.tables import alias_events, audit_log
from cvntrade.errors import DependencyError, NotFoundError, UserInputError
from cvntrade.market import ParquetStore
from cvntrade.settings import Settings
from cvntrade.strategy import Strategy, model_name
from cvntrade.training.api import run_training
from cvntrade.training.bundle import load_bundle
from cvntrade.training.data import feature_matrix, load_dataset
from cvntrade.training.fingerprint import FINGERPRINT_TAG, objective_fingerprint
from cvntrade.training.result import TrainingResult

VERSION_TAGS = {
    "loss_function",
    "focal_gamma",
    "focal_alpha",
    "calibration",
    "temperature",
    "dataset_hash",
    "git_sha",
    "config_version",
}
OVERALL_METRICS = {
    "auc",
    "log_loss",
    "brier",
    "ece_hold",
    "f1_buy",
    "sharpness",
    "net_expectancy_pct",
    "n_trades",
}


def features_of(store: ParquetStore, symbol: str) -> np.ndarray:
    dataset = load_dataset(
        store, symbol, Strategy.parse(STRATEGY), interval="1h", start=None, end=None
    )
    return feature_matrix(dataset)


def train(
    engine: Engine,
    store: ParquetStore,
    uri: str,
    settings: Settings,
    symbol: str,
    **options: object,
) -> TrainingResult:
    return run_training(
        engine,
        symbol=symbol,
        strategy=STRATEGY,
        folds=FOLDS,
        tracking_uri=uri,
        store=store,
        params=FAST,
        settings=settings,
        **options,  # type: ignore[arg-type]
    )


def test_two_symbols_binary_then_focal_register_two_tagged_versions_each(
    sqlite_url: str,
    tracking_uri: str,
    market_store: ParquetStore,
    training_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory
    engine = create_db_engine(sqlite_url)
    config_version = read_config(engine).version
    results: dict[tuple[str, str], TrainingResult] = {}
    for loss in ("binary:logistic", "focal"):
        for symbol in SYMBOLS:
            results[symbol, loss] = train(
                engine,
                market_store,
                tracking_uri,
                training_settings,
                symbol,
                loss=loss,
                calibration="temperature_scaling",
            )
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    for symbol in SYMBOLS:
        name = model_name(symbol, STRATEGY)
        versions = {int(v.version): v for v in client.search_model_versions(f"name = '{name}'")}
        assert sorted(versions) == [1, 2]
        assert client.get_registered_model(name).aliases == {"champion": 1}, "first version only"
        binary, focal = versions[1].tags, versions[2].tags
        assert set(binary) >= VERSION_TAGS and set(focal) >= VERSION_TAGS
        assert (binary["loss_function"], binary["focal_gamma"], binary["focal_alpha"]) == (
            "binary",
            "none",
            "none",
        )
        # gamma and alpha were not given: they come from ftf_config's seeded defaults
        assert (focal["loss_function"], focal["focal_gamma"], focal["focal_alpha"]) == (
            "focal",
            "2.0",
            "0.25",
        )
        for tags, result in (
            (binary, results[symbol, "binary:logistic"]),
            (focal, results[symbol, "focal"]),
        ):
            assert tags["calibration"] == "temperature_scaling"
            assert float(tags["temperature"]) == result.temperature > 0
            assert tags["dataset_hash"] == result.dataset_hash
            assert re.fullmatch(r"[0-9a-f]{40}|unknown", tags["git_sha"])
            assert tags["config_version"] == str(config_version)
        assert binary["dataset_hash"] == focal["dataset_hash"], "same data for both losses"
        # every focal version records the fingerprint of the objective it was trained with
        assert focal[FINGERPRINT_TAG] == objective_fingerprint()
        assert FINGERPRINT_TAG not in binary

        x = features_of(market_store, symbol)
        for loss in ("binary:logistic", "focal"):
            result = results[symbol, loss]
            began = time.perf_counter()
            loaded = load_bundle(tracking_uri, name, result.version)
            assert time.perf_counter() - began < 2.0, "the engine reloads on every alias move"
            np.testing.assert_array_equal(loaded.margins(x), result.bundle.margins(x))
            np.testing.assert_array_equal(loaded.predict_proba(x), result.bundle.predict_proba(x))
            assert (loaded.threshold, loaded.temperature) == (result.threshold, result.temperature)
            assert (loaded.symbol, loaded.strategy) == (symbol, STRATEGY)
            assert loaded.loss_function == result.loss_function

            run = client.get_run(result.run_id)
            assert run.info.status == "FINISHED"
            assert set(run.data.metrics) >= OVERALL_METRICS
            assert run.data.params["loss_function"] == loss
            history = client.get_metric_history(result.run_id, "fold_ece_hold")
            assert sorted(m.step for m in history) == list(range(1, FOLDS + 1))
            artifacts = {a.path for a in client.list_artifacts(result.run_id)}
            assert artifacts >= {"calibration.json", "features.json", "model", "walk_forward.json"}
            assert len(result.fold_metrics) == FOLDS
            # fold 1 has no earlier out-of-fold history: no temperature, break-even threshold
            first_fold = result.fold_metrics[0]
            assert first_fold["temperature"] == 1.0
            assert first_fold["threshold"] == pytest.approx((0.5 + 0.12) / 1.5)
            assert set(result.metrics) >= OVERALL_METRICS
            assert result.metrics["n_samples"] == sum(f["test_rows"] for f in result.fold_metrics)
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "mlflow.db").exists()


def test_defaults_come_from_ftf_config_and_the_first_champion_move_is_audited(
    engine: Engine,
    tracking_uri: str,
    market_store: ParquetStore,
    training_settings: Settings,
) -> None:
    set_config(
        engine,
        {
            "CVN_LOSS_FUNCTION": "focal",
            "CVN_FOCAL_GAMMA": "1.5",
            "CVN_FOCAL_ALPHA": "0.3",
            "CVN_CALIBRATION": "temperature_scaling",
        },
        reason="test: train focal next",
        actor="tester",
    )
    snapshot = read_config(engine)
    result = run_training(
        engine,
        symbol="ETHUSDC",
        strategy=STRATEGY,
        folds=2,
        tracking_uri=tracking_uri,
        store=market_store,
        params=FAST,
        settings=training_settings,
        actor="trainer",
    )
    assert (result.loss_function, result.focal_gamma, result.focal_alpha) == ("focal", 1.5, 0.3)
    assert result.calibration == "temperature_scaling"
    assert result.config_version == snapshot.version
    assert result.became_champion
    name = model_name("ETHUSDC", STRATEGY)
    tags = MlflowClient(tracking_uri=tracking_uri).get_model_version(name, "1").tags
    assert (tags["focal_gamma"], tags["config_version"]) == ("1.5", str(snapshot.version))
    with engine.connect() as conn:
        events = conn.execute(select(alias_events.c.model_name, alias_events.c.version)).all()
        actions = conn.execute(select(audit_log.c.action, audit_log.c.actor)).all()
    assert [tuple(e) for e in events] == [(name, 1)]
    assert ("models.set_alias", "trainer") in [tuple(a) for a in actions]


def test_recalibrate_only_refits_the_champions_temperature_as_a_new_version(
    sqlite_url: str,
    tracking_uri: str,
    market_store: ParquetStore,
    training_settings: Settings,
) -> None:
    engine = create_db_engine(sqlite_url)
    first = train(engine, market_store, tracking_uri, training_settings, "BTCUSDC", loss="focal")
    assert first.calibration == "none" and first.temperature == 1.0
    again = train(
        engine,
        market_store,
        tracking_uri,
        training_settings,
        "BTCUSDC",
        recalibrate_only=True,
        recent_days=20,
    )
    assert (again.version, again.recalibrated_from, again.champion_version) == (2, 1, 1)
    assert (again.loss_function, again.calibration) == ("focal", "temperature_scaling")
    assert again.fold_metrics == [] and {"ece_hold", "ece_hold_before"} <= set(again.metrics)
    assert again.n_rows <= 20 * 24
    name = model_name("BTCUSDC", STRATEGY)
    client = MlflowClient(tracking_uri=tracking_uri)
    tags = client.get_model_version(name, "2").tags
    assert (tags["recalibrated_from"], tags["loss_function"], tags["focal_gamma"]) == (
        "1",
        "focal",
        "2.0",
    )
    assert tags[FINGERPRINT_TAG] == objective_fingerprint(), "carried over from the champion"
    assert client.get_registered_model(name).aliases == {"champion": 1}
    x = features_of(market_store, "BTCUSDC")
    old, new = load_bundle(tracking_uri, name, 1), load_bundle(tracking_uri, name, 2)
    np.testing.assert_array_equal(old.margins(x), new.margins(x))  # the same booster
    expected = 1.0 / (1.0 + np.exp(-new.margins(x) / again.temperature))
    np.testing.assert_allclose(new.predict_proba(x), expected, rtol=1e-14)
    assert math.isfinite(again.threshold)


def test_recalibrate_version_recalibrates_a_version_that_is_not_champion(
    sqlite_url: str,
    tracking_uri: str,
    market_store: ParquetStore,
    training_settings: Settings,
) -> None:
    """Runbook path B after a rollback: the champion is binary, the focal version it replaced
    is recalibrated by number; the champion does not move."""
    engine = create_db_engine(sqlite_url)
    binary = train(engine, market_store, tracking_uri, training_settings, "BTCUSDC")
    focal = train(engine, market_store, tracking_uri, training_settings, "BTCUSDC", loss="focal")
    assert binary.became_champion and not focal.became_champion
    again = train(
        engine,
        market_store,
        tracking_uri,
        training_settings,
        "BTCUSDC",
        recalibrate_only=True,
        recalibrate_version=focal.version,
        recent_days=20,
    )
    assert (again.recalibrated_from, again.loss_function) == (focal.version, "focal")
    assert again.champion_version == binary.version
    name = model_name("BTCUSDC", STRATEGY)
    x = features_of(market_store, "BTCUSDC")
    old, new = (
        load_bundle(tracking_uri, name, focal.version),
        load_bundle(tracking_uri, name, again.version),
    )
    np.testing.assert_array_equal(old.margins(x), new.margins(x))  # the focal booster
    with pytest.raises(NotFoundError):
        train(
            engine,
            market_store,
            tracking_uri,
            training_settings,
            "BTCUSDC",
            recalibrate_only=True,
            recalibrate_version=99,
        )
    with pytest.raises(UserInputError, match="--recalibrate-version applies with"):
        train(
            engine, market_store, tracking_uri, training_settings, "BTCUSDC", recalibrate_version=1
        )


def test_recalibrating_without_a_champion_is_not_found(
    sqlite_url: str,
    tracking_uri: str,
    market_store: ParquetStore,
    training_settings: Settings,
) -> None:
    engine = create_db_engine(sqlite_url)
    with pytest.raises(NotFoundError, match="no champion to recalibrate: train one first"):
        train(
            engine, market_store, tracking_uri, training_settings, "ETHUSDC", recalibrate_only=True
        )
    with pytest.raises(UserInputError, match="keeps the champion's booster"):
        train(
            engine,
            market_store,
            tracking_uri,
            training_settings,
            "ETHUSDC",
            recalibrate_only=True,
            loss="focal",
        )


def test_missing_market_data_tells_how_to_load_it(
    sqlite_url: str, tracking_uri: str, market_store: ParquetStore, training_settings: Settings
) -> None:
    engine = create_db_engine(sqlite_url)
    with pytest.raises(UserInputError, match=r"no 1h market data for SOLUSDC.*cvntrade data synth"):
        train(engine, market_store, tracking_uri, training_settings, "SOLUSDC")


def test_load_bundle_translates_registry_errors(
    tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NotFoundError, match="version 7 not found"):
        load_bundle(tracking_uri, model_name("BTCUSDC", STRATEGY), 7)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    with pytest.raises(DependencyError, match="model registry"):
        load_bundle("http://127.0.0.1:9", model_name("BTCUSDC", STRATEGY), 1)
