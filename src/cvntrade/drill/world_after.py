"""A drill world's future: the hours after its `now`, when new bars arrive and the engine trades.

`build_world` stops at the world's `now` (the incident is there). `continue_world` plays a
window `[start, end)` of the `after_hours` of the plan (`plan_world(..., after_hours=N)`,
`now <= start < end <= now + N h`): it stores the window's bars (the same generated market, as
new bars from the exchange) and runs the production paper engine over them (`run_paper`, same
engine id: it resumes after its checkpoint and serves whatever the registry's `champion` alias
points at by then, e.g. the binary versions after a rollback). Windows are played in order,
each starting where the previous one ended.
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


def continue_world(
    plan: WorldPlan,
    home: Path,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> Continuation:
    """Store the bars of `[start, end)` (default: all the hours after the world's `now`) and
    paper-trade them (see the module docstring)."""
    from cvntrade.db import create_db_engine
    from cvntrade.drill.scenario import world_settings
    from cvntrade.drill.world_market import write_market
    from cvntrade.drill.world_trading import trade_window

    if plan.after_hours < 1:
        raise UserInputError("the world's plan has no hours after its now (after_hours=0)")
    begin, finish = start or plan.now, end or plan.market_end
    if not plan.now <= begin < finish <= plan.market_end:
        raise UserInputError(
            f"window [{begin}, {finish}) is not inside the world's future "
            f"[{plan.now}, {plan.market_end})"
        )
    settings = world_settings(home)
    write_market(plan, settings, since=begin, until=finish)
    engine = create_db_engine(settings.effective_database_url)
    try:
        report = trade_window(plan, engine, settings, start=begin, end=finish)
    finally:
        engine.dispose()
    return Continuation(
        begin, finish, report.bars, report.trades, report.predictions, report.versions
    )
