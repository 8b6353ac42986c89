"""A small incident world on the test's own database (SQLite or PostgreSQL) for remediation tests.

Through the public code paths, like `drill scenario` but smaller and on any database: a synthetic
market with the concept-drift event 60 h before `NOW`, binary v1 (champion first) and focal v2
(gamma 2.0, promoted, audited) per symbol trained on the bars before the last 3 days with few
rounds, then the production paper engine trading the last 3 days (journal, predictions).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from cvntrade.app import AppContext
from cvntrade.clock import fixed_clock
from cvntrade.config import set_config
from cvntrade.db.tables import audit_log, backtest_runs, ftf_config, incident_notes
from cvntrade.drill.scenario import plan_world
from cvntrade.market import ParquetStore, generate_market, validate_ohlcv
from cvntrade.registry import CHAMPION, MlflowRegistry, set_alias
from cvntrade.settings import Settings
from cvntrade.strategy import DEFAULT_STRATEGY, model_name
from cvntrade.training.api import run_training
from cvntrade.training.booster import BoosterParams

NOW = dt.datetime(2026, 11, 30, 12)
SYMBOLS = ("BTCUSDC", "ETHUSDC")
TRADING = dt.timedelta(days=3)
PARAMS = BoosterParams(rounds=15, nthread=1, seed=1)
FOLDS = 2
ACTOR = "tester"


@dataclass(frozen=True)
class SmallWorld:
    """The context to call the runbook with, and the versions it holds per symbol."""

    ctx: AppContext
    binary: dict[str, int]
    focal: dict[str, int]


def small_world(engine: Engine, home: Path, mlflow_template: Path) -> SmallWorld:
    """Build the world described in the module docstring on `engine`, CVN_HOME `home`."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mlflow_template, home / "mlflow.db")
    settings = Settings.model_validate(
        {
            "home": home,
            "database_url": str(engine.url.render_as_string(hide_password=False)),
            "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        }
    )
    plan = plan_world("concept-drift", seed=1, symbols=SYMBOLS, now=NOW)
    market = generate_market(
        SYMBOLS,
        pd.Timestamp(plan.start),
        pd.Timestamp(NOW),
        seed=1,
        signal_strength=2.0,
        events=plan.events,
    )
    store = ParquetStore(home / "data")
    for symbol in SYMBOLS:
        checked = validate_ohlcv(market.frames[symbol], source=symbol, interval="1h")
        store.write(symbol, "1h", checked.frame, source="synthetic")
    registry = MlflowRegistry(settings.effective_tracking_uri)
    train_end = NOW - TRADING

    def train(symbol: str, loss: str) -> int:
        return run_training(
            engine,
            symbol=symbol,
            strategy=DEFAULT_STRATEGY,
            loss=loss,
            folds=FOLDS,
            start=pd.Timestamp(plan.start),
            end=pd.Timestamp(train_end),
            params=PARAMS,
            actor=ACTOR,
            settings=settings,
        ).version

    binary = {s: train(s, "binary:logistic") for s in SYMBOLS}
    set_config(
        engine,
        {"CVN_LOSS_FUNCTION": "focal", "CVN_FOCAL_GAMMA": "2.0", "CVN_FOCAL_ALPHA": "0.25"},
        reason="focal passed the gate (test world)",
        actor=ACTOR,
    )
    focal = {}
    for symbol in SYMBOLS:
        focal[symbol] = train(symbol, "focal")
        set_alias(
            engine,
            registry,
            name=model_name(symbol, DEFAULT_STRATEGY),
            alias=CHAMPION,
            version=focal[symbol],
            reason="focal promoted (test world)",
            actor=ACTOR,
        )
    _paper_trade(engine, settings, train_end)
    ctx = AppContext(settings=settings, engine=engine, actor=ACTOR, clock=fixed_clock(NOW))
    return SmallWorld(ctx, binary, focal)


def _paper_trade(engine: Engine, settings: Settings, start: dt.datetime) -> None:
    from cvntrade.strategy import Strategy
    from cvntrade.trading.engine import Costs
    from cvntrade.trading.service import EngineSetup, default_registry, mlflow_loader, run_paper

    setup = EngineSetup(
        db=engine,
        registry=default_registry(settings.effective_tracking_uri),
        loader=mlflow_loader(settings.effective_tracking_uri),
        symbols=SYMBOLS,
        strategy=Strategy.parse(DEFAULT_STRATEGY),
        interval="1h",
        costs=Costs(settings.fees_pct, settings.slippage_pct),
        poll_s=settings.alias_poll_s,
        engine_id="paper:test-world",
    )
    run_paper(setup, data_dir=settings.home / "data", start=start, end=NOW)


def state_of(world: SmallWorld) -> dict[str, Any]:
    """Everything a remediation could change: audit rows, notes, config, backtests, registry."""
    engine = world.ctx.engine
    with engine.connect() as conn:
        counts = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (audit_log, incident_notes, backtest_runs)
        }
        config = conn.execute(select(ftf_config.c.version, ftf_config.c.base_env)).one()
    registry = MlflowRegistry(world.ctx.settings.effective_tracking_uri)
    models = {}
    for symbol in SYMBOLS:
        name = model_name(symbol, DEFAULT_STRATEGY)
        models[name] = (
            [v.version for v in registry.list_versions(name, 50)],
            registry.aliases(name),
        )
    return {**counts, "config": (config.version, dict(config.base_env)), "models": models}


def champion(world: SmallWorld, symbol: str) -> tuple[int, str | None]:
    """(champion version, its loss_function tag)."""
    registry = MlflowRegistry(world.ctx.settings.effective_tracking_uri)
    name = model_name(symbol, DEFAULT_STRATEGY)
    version = registry.aliases(name)[CHAMPION]
    return version, registry.get_version(name, version).loss_function
