"""Scenario worlds: the plan's timeline and events, and the planted defect of the
implementation-regression world (a copy, never the installed objective)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost

from cvntrade.drill.planted import (
    defective_objective_factory,
    objective_fingerprint,
    planted_focal_defect,
)
from cvntrade.drill.scenario import (
    CAUSES,
    EVENT_HOURS_AGO,
    WORLD_MARKET,
    plan_world,
    prepare_home,
    world_settings,
)
from cvntrade.errors import UserInputError
from cvntrade.training.xgboost import focal_loss

NOW = dt.datetime(2026, 11, 30, 12, 34, 56)


@pytest.mark.parametrize("cause", CAUSES)
def test_the_event_falls_before_the_48h_window_and_inside_trading(cause: str) -> None:
    plan = plan_world(cause, seed=3, now=NOW)
    assert plan.now == dt.datetime(2026, 11, 30, 12)
    assert plan.start < plan.train_end == plan.trading_start < plan.event_at
    assert plan.now - plan.event_at == dt.timedelta(hours=EVENT_HOURS_AGO)
    assert plan.now - plan.event_at > dt.timedelta(hours=48)
    kinds = [e.kind for e in plan.events]
    world = ["regime_hold", *(kind for kind, _ in WORLD_MARKET)]
    assert kinds[: len(world)] == world
    # The world's market is set from its first day on; the cause's event comes later.
    assert {e.at for e in plan.events[: len(world)]} == {
        pd.Timestamp(plan.start + dt.timedelta(days=1))
    }
    assert all(e.at == pd.Timestamp(plan.event_at) for e in plan.events[len(world) :])
    expected = {
        "distribution-drift": ["volatility_shift"],
        "calibration-drift": ["wick_skew"],
        "concept-drift": ["signal_reversal", "volatility_shift"],
        "implementation-regression": [],
        "healthy": [],
    }[cause]
    assert kinds[len(world) :] == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cause": "gremlins"}, "unknown --cause"),
        ({"cause": "healthy", "symbols": ["BTCUSDC"]}, "at least 2 symbols"),
        ({"cause": "healthy", "symbols": ["btc", "ETHUSDC"]}, "invalid symbol"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        plan_world(now=NOW, **kwargs)  # type: ignore[arg-type]


def test_a_home_with_a_database_is_refused_even_with_force_unless_it_is_a_world(
    tmp_path: Path,
) -> None:
    (tmp_path / "cvntrade.db").write_text("production")
    with pytest.raises(UserInputError, match="already holds"):
        prepare_home(tmp_path)
    with pytest.raises(UserInputError, match="not a drill world"):
        prepare_home(tmp_path, force=True)
    assert (tmp_path / "cvntrade.db").read_text() == "production"
    (tmp_path / "scenario.json").write_text("{}")
    prepare_home(tmp_path, force=True)
    assert not (tmp_path / "cvntrade.db").exists()


def test_the_defective_copy_has_a_sign_error_and_the_installed_objective_is_restored() -> None:
    rng = np.random.default_rng(0)
    margins = rng.normal(0.0, 2.0, 500)
    labels = (rng.random(500) < 0.4).astype(np.float32)
    matrix = xgboost.DMatrix(np.zeros((500, 1)), label=labels)
    grad, _ = defective_objective_factory()(2.0, 0.25)(margins, matrix)
    exact, _ = focal_loss.focal_grad_hess(margins, labels, 2.0, 0.25)
    flipped, _ = focal_loss.focal_grad_hess(margins, 1.0 - labels, 2.0, 0.25)
    # A self-check against the exact formulas fails; the copy computes the other class's gradient.
    assert not np.allclose(grad, exact, atol=1e-3)
    assert np.allclose(grad, flipped, atol=1e-5)

    installed = focal_loss.focal_objective
    before = objective_fingerprint()
    with planted_focal_defect() as planted:
        assert focal_loss.focal_objective is not installed
        assert planted != before
    assert focal_loss.focal_objective is installed
    assert objective_fingerprint() == before
    with pytest.raises(RuntimeError), planted_focal_defect():
        raise RuntimeError("training failed")
    assert focal_loss.focal_objective is installed


def test_a_world_never_uses_the_production_stores_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CVN_DATABASE_URL", "postgresql://prod/cvntrade")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.prod:5000")
    settings = world_settings(tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'cvntrade.db'}"
    assert settings.effective_tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_a_plan_has_no_future_unless_asked_and_the_future_is_bounded() -> None:
    plan = plan_world("healthy", seed=1, now=NOW)
    assert plan.after_hours == 0 and plan.market_end == plan.now
    later = plan_world("healthy", seed=1, now=NOW, after_hours=12)
    assert later.market_end == later.now + dt.timedelta(hours=12)
    assert later.events == plan.events and later.trading_start == plan.trading_start
    for bad in (-1, 14 * 24 + 1):
        with pytest.raises(UserInputError, match="after_hours"):
            plan_world("healthy", seed=1, now=NOW, after_hours=bad)
