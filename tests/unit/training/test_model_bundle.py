"""ModelBundle: margins and calibrated probabilities, identical after a write/read round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.training import booster as booster_module
from cvntrade.training.booster import BoosterParams, LossSpec, train_booster
from cvntrade.training.bundle import BUNDLE_FILE, ModelBundle, read_bundle, write_bundle

NAMES = ("a", "b", "c")


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((400, 3))
    y = (x[:, 0] + 0.5 * rng.standard_normal(400) > 0.3).astype(float)
    return x, y


@pytest.mark.parametrize("loss", [LossSpec("binary"), LossSpec("focal", 2.0, 0.25)])
def test_round_trip_predicts_identically(loss: LossSpec, tmp_path: Path) -> None:
    x, y = _data()
    booster = train_booster(x, y, loss, BoosterParams(rounds=15), NAMES)
    bundle = ModelBundle(booster, NAMES, loss.name, "temperature_scaling", 1.7, 0.42, "S", "X")
    write_bundle(bundle, tmp_path / "model", {"interval": "1h"})
    loaded = read_bundle(tmp_path / "model")
    assert (loaded.loss_function, loaded.temperature, loaded.threshold) == (loss.name, 1.7, 0.42)
    assert loaded.feature_names == NAMES
    np.testing.assert_array_equal(loaded.margins(x), bundle.margins(x))
    np.testing.assert_array_equal(loaded.predict_proba(x), bundle.predict_proba(x))
    assert bundle.margins(x).dtype == np.float64
    np.testing.assert_allclose(
        bundle.predict_proba(x), 1 / (1 + np.exp(-bundle.margins(x) / 1.7)), rtol=1e-15
    )
    assert json.loads((tmp_path / "model" / BUNDLE_FILE).read_text())["interval"] == "1h"


def test_focal_booster_starts_from_margin_zero() -> None:
    x, y = _data(1)
    booster = train_booster(x, y, LossSpec("focal", 1.0, 0.5), BoosterParams(rounds=1), NAMES)
    config = json.loads(booster.save_config())
    assert float(config["learner"]["learner_model_param"]["base_score"].strip("[]")) == 0.0


def test_serial_numba_training_gives_the_same_focal_booster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The objective runs single-threaded on small data; the result must not depend on it."""
    import numba

    x, y = _data(2)
    loss = LossSpec("focal", 2.0, 0.25)
    before = numba.get_num_threads()
    serial = train_booster(x, y, loss, BoosterParams(rounds=3), NAMES)
    assert numba.get_num_threads() == before, "thread count restored"
    monkeypatch.setattr(booster_module, "SERIAL_OBJECTIVE_BELOW_ROWS", 0)  # parallel path
    parallel = train_booster(x, y, loss, BoosterParams(rounds=3), NAMES)
    np.testing.assert_array_equal(
        serial.inplace_predict(x, predict_type="margin"),
        parallel.inplace_predict(x, predict_type="margin"),
    )


def test_wrong_feature_count_is_a_user_error() -> None:
    x, y = _data()
    booster = train_booster(x, y, LossSpec("binary"), BoosterParams(rounds=2), NAMES)
    bundle = ModelBundle(booster, NAMES, "binary", "none", 1.0, 0.4, "S", "X")
    with pytest.raises(UserInputError, match="3 features"):
        bundle.margins(np.zeros((2, 4)))
    assert bundle.predict_proba(x[0]).shape == (1,)


def test_reading_a_directory_without_bundle_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=BUNDLE_FILE):
        read_bundle(tmp_path)
    (tmp_path / BUNDLE_FILE).write_text('{"format": "other"}')
    with pytest.raises(UserInputError, match="unknown bundle format"):
        read_bundle(tmp_path)


def test_a_read_bundle_predicts_on_one_thread(tmp_path: Path) -> None:
    """Serving predicts one bar per call: the loaded booster must not start OpenMP threads."""
    x, y = _data(2)
    booster = train_booster(x, y, LossSpec("binary"), BoosterParams(rounds=5, nthread=2), NAMES)
    bundle = ModelBundle(booster, NAMES, "binary", "none", 1.0, 0.5, "S", "X")
    write_bundle(bundle, tmp_path / "model")
    loaded = read_bundle(tmp_path / "model")
    config = json.loads(loaded.booster.save_config())
    assert config["learner"]["generic_param"]["nthread"] == "1"
    np.testing.assert_array_equal(loaded.margins(x), bundle.margins(x))


def test_small_datasets_train_on_one_xgboost_thread_large_ones_on_nthread() -> None:
    """`cvntrade train` on ~17 000 rows must not pay OpenMP barriers a sweep cell does not."""
    params = BoosterParams(rounds=3, nthread=2)
    assert booster_module.training_threads(params, booster_module.THREADED_FROM_ROWS - 1) == 1
    assert booster_module.training_threads(params, booster_module.THREADED_FROM_ROWS) == 2
    x, y = _data(3)
    booster = train_booster(x, y, LossSpec("focal", 2.0, 0.25), params, NAMES)
    assert json.loads(booster.save_config())["learner"]["generic_param"]["nthread"] == "1"
