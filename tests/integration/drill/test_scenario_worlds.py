"""`drill scenario` worlds: built through the real training, registry and paper engine, on their
own SQLite database and MLflow store; the runbook's step 1 on the world gives the promised verdict.

Each world costs about a minute (10 trainings, MLflow registrations, 14 days of paper trading for
5 symbols), so every world is built once per session and shared by the tests that read it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow import MlflowClient
from sqlalchemy import Engine, func, select

from cvntrade.clock import fixed_clock
from cvntrade.config import read_config
from cvntrade.db import create_db_engine
from cvntrade.db.tables import audit_log, predictions, trade_journal
from cvntrade.drill.planted import FINGERPRINT_TAG, objective_fingerprint
from cvntrade.drill.scenario import ScenarioResult, build_world, plan_world, world_settings
from cvntrade.errors import UserInputError
from cvntrade.registry import CHAMPION, MlflowRegistry
from cvntrade.runbook.steps import confirm
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 30, 12)
NOT_YET = pytest.mark.xfail(
    reason="this cause's world does not yet reliably make focal lose money (docs/drills.md)",
    strict=False,
)
WorldFactory = Callable[[str, int], ScenarioResult]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldFactory:
    """Build (once per session) and return the world of (cause, seed)."""
    built: dict[tuple[str, int], ScenarioResult] = {}

    def get(cause: str, seed: int) -> ScenarioResult:
        if (cause, seed) not in built:
            home = tmp_path_factory.mktemp(f"world-{cause}-{seed}")
            built[cause, seed] = build_world(plan_world(cause, seed=seed, now=NOW), home)
        return built[cause, seed]

    return get


def _engine(result: ScenarioResult) -> Engine:
    return create_db_engine(world_settings(result.home).effective_database_url)


@pytest.mark.parametrize(
    ("cause", "seed"),
    [
        ("distribution-drift", 1),
        ("distribution-drift", 2),
        ("calibration-drift", 1),
        ("calibration-drift", 2),
        ("implementation-regression", 1),
        pytest.param("implementation-regression", 2, marks=NOT_YET),
        ("concept-drift", 1),
        pytest.param("concept-drift", 3, marks=NOT_YET),
    ],
)
def test_runbook_step_1_confirms_the_incident_in_every_cause_world(
    world: WorldFactory, cause: str, seed: int
) -> None:
    result = world(cause, seed)
    engine = _engine(result)
    try:
        verdict = confirm(engine, actor="drill-test", clock=fixed_clock(result.now))
        assert read_config(engine).env["CVN_LOSS_FUNCTION"] == "focal"  # focal_loss_active = 1
    finally:
        engine.dispose()
    assert verdict.verdict == "real"
    assert len(verdict.negative_symbols) >= 2
    assert set(verdict.negative_symbols) == set(result.negative_symbols)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_healthy_world_does_not_confirm_the_alert(world: WorldFactory, seed: int) -> None:
    result = world("healthy", seed)
    engine = _engine(result)
    try:
        verdict = confirm(engine, actor="drill-test", clock=fixed_clock(result.now))
    finally:
        engine.dispose()
    assert verdict.verdict == "transient"
    assert len(verdict.negative_symbols) < 2
    assert result.trades > 0  # it traded, and made money, rather than standing aside


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
    assert [e["kind"] for e in truth["market_events"]] == ["regime_hold", "volatility_shift"]
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
