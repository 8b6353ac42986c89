"""A drill world's future: the hours after its `now`, when new bars arrive and the engine trades.

`build_world` stops at the world's `now` (the incident is there). `continue_world` plays the
`after_hours` of the plan (`plan_world(..., after_hours=N)`): it stores the bars of
`[now, now + N h)` (the same generated market, as new bars from the exchange) and runs the
production paper engine over them (`run_paper`, same engine id: it resumes after its
checkpoint and serves whatever the registry's `champion` alias points at by then, e.g. the
binary versions after a rollback).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cvntrade.errors import UserInputError

if TYPE_CHECKING:
    from cvntrade.drill.scenario import WorldPlan


@dataclass(frozen=True, slots=True)
class Continuation:
    """What the engine did after `now`: the window traded and the rows it wrote."""

    start: dt.datetime
    end: dt.datetime
    bars: int
    trades: int
    predictions: int
    versions: dict[str, list[int]]


def continue_world(plan: WorldPlan, home: Path) -> Continuation:
    """Store the bars after the world's `now` and paper-trade them (see the module docstring)."""
    from cvntrade.db import create_db_engine
    from cvntrade.drill.scenario import world_settings
    from cvntrade.drill.world_market import write_market
    from cvntrade.drill.world_trading import trade_window

    if plan.after_hours < 1:
        raise UserInputError("the world's plan has no hours after its now (after_hours=0)")
    settings = world_settings(home)
    write_market(plan, settings, since=plan.now, until=plan.market_end)
    engine = create_db_engine(settings.effective_database_url)
    try:
        report = trade_window(plan, engine, settings, start=plan.now, end=plan.market_end)
    finally:
        engine.dispose()
    return Continuation(
        plan.now, plan.market_end, report.bars, report.trades, report.predictions, report.versions
    )
