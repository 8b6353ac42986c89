"""Training stores the monitoring reference in the bundle; monitoring reads it back."""

from __future__ import annotations

import numpy as np
import pytest
from training_support import FAST, FOLDS, STRATEGY

from cvntrade.db import create_db_engine
from cvntrade.features import FEATURE_NAMES
from cvntrade.market import ParquetStore
from cvntrade.monitoring.drift import feature_psi
from cvntrade.monitoring.reference import load_reference
from cvntrade.settings import Settings
from cvntrade.strategy import Strategy, model_name
from cvntrade.training.api import run_training
from cvntrade.training.data import load_dataset
from cvntrade.training.metrics import ECE_BINS


def test_trained_bundle_carries_the_reference_monitoring_reads(
    sqlite_url: str, tracking_uri: str, market_store: ParquetStore, training_settings: Settings
) -> None:
    engine = create_db_engine(sqlite_url)
    result = run_training(
        engine,
        symbol="BTCUSDC",
        strategy=STRATEGY,
        folds=FOLDS,
        tracking_uri=tracking_uri,
        store=market_store,
        params=FAST,
        settings=training_settings,
        loss="focal",
    )
    reference = load_reference(tracking_uri, model_name("BTCUSDC", STRATEGY), result.version)
    assert reference is not None
    assert sorted(reference.features) == sorted(FEATURE_NAMES)
    for feature in reference.features.values():
        assert len(feature.proportions) == len(feature.edges) + 1
        assert sum(feature.proportions) == pytest.approx(1.0, abs=1e-12)
    assert sum(reference.probability_histogram) == pytest.approx(1.0, abs=1e-12)
    assert 0.0 < reference.sharpness < 0.5 and 0.0 <= reference.ece_hold <= 1.0
    assert reference.n_rows == result.n_rows and reference.window_start == result.data_start
    assert ECE_BINS == 15
    dataset = load_dataset(
        market_store, "BTCUSDC", Strategy.parse(STRATEGY), interval="1h", start=None, end=None
    )
    same = feature_psi(reference, dataset.features)
    assert max(same.values()) == pytest.approx(0.0, abs=1e-12)  # the training window vs itself
    recent = dataset.features.iloc[-24 * 20 :]  # after the April regime shift
    shifted = feature_psi(reference, recent)
    assert np.nanmax(list(shifted.values())) > 0.0
