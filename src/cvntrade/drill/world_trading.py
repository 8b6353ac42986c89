"""How a drill world trades through its event: the one place that runs the paper engine.

It is the production paper engine fed by stored bars (`cvntrade.trading.service.run_paper`, as
`cvntrade trade paper`): it writes the world's production journal (`trade_journal`, source
`engine`), the `predictions` table and the engine's heartbeats, as production would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cvntrade.strategy import model_name

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy import Engine

    from cvntrade.drill.scenario import WorldPlan
    from cvntrade.settings import Settings
    from cvntrade.trading.engine import EngineReport, ScheduledSwitch
    from cvntrade.trading.service import EngineSetup

INTERVAL = "1h"
ACTOR = "drill-scenario"


def _engine_setup(plan: WorldPlan, engine: Engine, settings: Settings) -> EngineSetup:
    from cvntrade.strategy import Strategy
    from cvntrade.trading.engine import Costs
    from cvntrade.trading.service import (
        EngineSetup,
        default_engine_id,
        default_registry,
        mlflow_loader,
    )

    return EngineSetup(
        db=engine,
        registry=default_registry(settings.effective_tracking_uri),
        loader=mlflow_loader(settings.effective_tracking_uri),
        symbols=plan.symbols,
        strategy=Strategy.parse(plan.strategy),
        interval=INTERVAL,
        costs=Costs(settings.fees_pct, settings.slippage_pct),
        poll_s=settings.alias_poll_s,
        engine_id=default_engine_id("paper", plan.strategy),
    )


def _deploy_switch(
    plan: WorldPlan, setup: EngineSetup, versions: dict[str, int]
) -> ScheduledSwitch | None:
    """At the event, promote the versions trained with the regressed objective (if any)."""
    if not versions:
        return None
    from cvntrade.registry import CHAMPION, set_alias
    from cvntrade.trading.engine import ScheduledSwitch

    def action() -> None:
        for symbol, version in versions.items():
            set_alias(
                setup.db,
                setup.registry,
                name=model_name(symbol, plan.strategy),
                alias=CHAMPION,
                version=version,
                reason="focal retrained on the new release (drill world)",
                actor=ACTOR,
            )

    return ScheduledSwitch(plan.event_at, action)


def trade_window(
    plan: WorldPlan,
    engine: Engine,
    settings: Settings,
    *,
    start: dt.datetime,
    end: dt.datetime,
) -> EngineReport:
    """Paper-trade whatever the registry's champions are over `[start, end)` (no switch)."""
    from cvntrade.trading.service import run_paper

    setup = _engine_setup(plan, engine, settings)
    return run_paper(setup, data_dir=settings.home / "data", start=start, end=end)


def trade_through_event(
    plan: WorldPlan, engine: Engine, settings: Settings, switch_versions: dict[str, int]
) -> EngineReport:
    """Paper-trade the world's champions over `[trading_start, now)`, promoting at the event.

    The production paper engine (`run_paper`): production journal, predictions, heartbeats.
    """
    from cvntrade.trading.service import run_paper

    setup = _engine_setup(plan, engine, settings)
    return run_paper(
        setup,
        data_dir=settings.home / "data",
        start=plan.trading_start,
        end=plan.now,
        switch=_deploy_switch(plan, setup, switch_versions),
    )
