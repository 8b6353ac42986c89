"""`drill scenario` worlds: built through the real training, registry and paper engine, on their
own SQLite database and MLflow store, holding what production would hold; the ground truth names
the cause and nothing a diagnosis reads does. (Step 1 and the diagnosis on every cause and seeds
1-5: test_scenario_acceptance.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient
from scenario_world_support import NOW, WorldFactory
from sqlalchemy import Engine, func, select

from cvntrade.db import create_db_engine
from cvntrade.db.tables import audit_log, predictions, trade_journal
from cvntrade.drill.planted import FINGERPRINT_TAG, objective_fingerprint
from cvntrade.drill.scenario import (
    WORLD_MARKET,
    ScenarioResult,
    build_world,
    plan_world,
    world_settings,
)
from cvntrade.errors import UserInputError
from cvntrade.registry import CHAMPION, MlflowRegistry
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

pytestmark = pytest.mark.slow


def _engine(result: ScenarioResult) -> Engine:
    return create_db_engine(world_settings(result.home).effective_database_url)


def test_a_world_holds_what_production_would_hold_and_its_ground_truth(
    world: WorldFactory,
) -> None:
    result = world("distribution-drift", 1)
    engine = _engine(result)
    try:
        with engine.connect() as conn:
            sources: dict[str, int] = dict(
                conn.execute(
                    select(trade_journal.c.source, func.count()).group_by(trade_journal.c.source)
                ).all()
            )
            losses = set(
                conn.execute(
                    select(trade_journal.c.model_loss_function).where(
                        trade_journal.c.entry_time >= result.event_at
                    )
                ).scalars()
            )
            n_predictions = conn.execute(select(func.count()).select_from(predictions)).scalar()
            moves = conn.execute(
                select(func.count())
                .select_from(audit_log)
                .where(audit_log.c.action == "models.set_alias")
            ).scalar()
    finally:
        engine.dispose()
    assert sources == {"engine": result.trades}
    assert losses == {"focal"}
    assert n_predictions == result.predictions > 0
    assert moves == 2 * len(result.symbols)  # binary v1 (first version), then focal: audited
    registry = MlflowRegistry(world_settings(result.home).effective_tracking_uri)
    for symbol in result.symbols:
        champion = registry.get_version(
            model_name(symbol, DEFAULT_STRATEGY),
            registry.aliases(model_name(symbol, DEFAULT_STRATEGY))[CHAMPION],
        )
        assert champion.loss_function == "focal"
        assert champion.version == result.champions[symbol]
    truth = json.loads((result.home / "scenario.json").read_text())
    assert truth["cause"] == "distribution-drift" and truth["seed"] == 1
    assert truth["event_at"] == result.event_at.isoformat()
    world_market = ["regime_hold", *(kind for kind, _ in WORLD_MARKET)]
    assert [e["kind"] for e in truth["market_events"]] == [*world_market, "volatility_shift"]
    # The data a diagnosis reads does not name the cause.
    meta = (result.home / "data").rglob("_meta.json")
    assert all("volatility_shift" not in path.read_text() for path in meta)


def test_the_regression_world_trained_its_last_focal_versions_with_a_defective_copy(
    world: WorldFactory,
) -> None:
    result = world("implementation-regression", 1)
    installed = objective_fingerprint()
    client = MlflowClient(world_settings(result.home).effective_tracking_uri)
    for symbol in result.symbols:
        name = model_name(symbol, DEFAULT_STRATEGY)
        good, regressed = result.champions[symbol] - 1, result.champions[symbol]
        assert client.get_model_version(name, str(good)).tags[FINGERPRINT_TAG] == installed
        assert client.get_model_version(name, str(regressed)).tags[FINGERPRINT_TAG] != installed
    # The package itself was never changed: the objective in this process is the installed one.
    from cvntrade.training.xgboost import focal_loss

    assert not hasattr(focal_loss, "_drill_original_focal_objective")
    assert objective_fingerprint(focal_loss.focal_objective) == installed


def test_a_home_that_holds_a_database_is_refused_and_left_alone(
    world: WorldFactory,
) -> None:
    result = world("healthy", 1)
    before = (result.home / "cvntrade.db").stat().st_mtime_ns
    with pytest.raises(UserInputError, match=r"already holds cvntrade\.db"):
        build_world(plan_world("healthy", seed=1, now=NOW), result.home)
    assert (result.home / "cvntrade.db").stat().st_mtime_ns == before


def test_cli_builds_a_world_and_the_runbook_confirms_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    env.pop("MLFLOW_TRACKING_URI", None)
    home = tmp_path / "world"
    now = "2026-11-30T12:00Z"
    built = subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", "drill", "scenario", "--cause",
         "distribution-drift", "--seed", "3", "--home", str(home), "--now", now, "--json"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    payload = json.loads(built.stdout)
    assert payload["cause"] == "distribution-drift" and payload["home"] == str(home)
    confirmed = subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", "runbook", "confirm", "--now", now, "--json"],
        env={**env, "CVN_HOME": str(home), "CVN_ACTOR": "drill-test"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    verdict = json.loads(confirmed.stdout)
    assert verdict["verdict"] == payload["verdict"] == "real"
    again = subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", "drill", "scenario", "--cause", "healthy",
         "--home", str(home), "--now", now],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert again.returncode == 2
    assert "already holds" in again.stderr + again.stdout
