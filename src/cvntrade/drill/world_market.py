"""A drill world's bars: generated once from the plan, stored like `cvntrade data synth` does.

The market of a plan covers `[start, now + after_hours)`. Building the world stores the bars
before `now` (what the world has seen); the hours after `now` are the world's future, stored
only when the world is continued (`cvntrade.drill.world_after`): new bars arriving, as from the
exchange. The generator is deterministic for a seed, so both writes come from the same market.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from cvntrade.drill.world_trading import INTERVAL

if TYPE_CHECKING:
    from cvntrade.drill.scenario import WorldPlan
    from cvntrade.settings import Settings

SIGNAL_STRENGTH = 2.0


def write_market(
    plan: WorldPlan,
    settings: Settings,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> int:
    """Generate the plan's market, validate and store the bars opening in `[since, until)`
    (default: `[start, now)`); returns the number of bars stored per symbol."""
    from cvntrade.market import ParquetStore, generate_market, validate_ohlcv

    market = generate_market(
        plan.symbols,
        pd.Timestamp(plan.start),
        pd.Timestamp(plan.market_end),
        interval=INTERVAL,
        seed=plan.seed,
        signal_strength=SIGNAL_STRENGTH,
        events=plan.events,
    )
    # Like `data synth`, minus the ground truth: the metadata does not name the event.
    meta = {
        "generator": "regime-switching-v1",
        "seed": plan.seed,
        "signal_strength": SIGNAL_STRENGTH,
        "start": plan.start.isoformat(),
        "end": plan.market_end.isoformat(),
        "regime_shift_at": None,
        "regimes": market.regime_segments(),
    }
    lo = pd.Timestamp(since or plan.start)
    hi = pd.Timestamp(until or plan.now)
    store = ParquetStore(settings.home / "data")
    stored = 0
    for symbol in plan.symbols:
        frame = market.frames[symbol]
        opened = pd.to_datetime(frame["timestamp"])
        window = frame[(opened >= lo) & (opened < hi)].reset_index(drop=True)
        checked = validate_ohlcv(window, source=f"drill {symbol}", interval=INTERVAL)
        store.write(symbol, INTERVAL, checked.frame, source="synthetic", meta=meta)
        stored = len(window)
    return stored
