"""`cvntrade drill journal`: a 21-day trade history relative to now, for runbook rehearsals.

Each symbol traded its binary champion (version N-1) until 14 days ago, then the focal champion
(version N). Outcomes follow the strategy's barriers (take profit +TP %, stop -SL %, or a small
horizon exit) minus fees. The mix of outcomes per window is fixed by quota, not left to chance,
so every scenario says exactly what it promises:

* `focal-regression`: BTCUSDC, ETHUSDC and SOLUSDC lose over the last 48 h (≥ 2 symbols), all
  five have a healthy 14-day baseline;
* `single-symbol`: only SOLUSDC loses over the last 48 h;
* `healthy`: no symbol loses.

Entries are on whole hours and none falls within 10 minutes of the 48 h, 7 d or 14 d boundaries,
so a query run a few seconds later sees the same rows. A new drill replaces the previous one
(rows with `source = 'drill'`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.db.engine import write_transaction
from cvntrade.errors import UserInputError
from cvntrade.journal.records import Trade
from cvntrade.journal.repository import delete_trades_from_source, insert_trades
from cvntrade.strategy import DEFAULT_STRATEGY, DEFAULT_SYMBOLS, Strategy, model_name

SCENARIOS: dict[str, tuple[str, ...]] = {
    "focal-regression": ("BTCUSDC", "ETHUSDC", "SOLUSDC"),
    "single-symbol": ("SOLUSDC",),
    "healthy": (),
}
HISTORY_DAYS = 21
FOCAL_SINCE_DAYS = 14
FEES_PCT = 0.1
BOUNDARY_MARGIN = dt.timedelta(minutes=10)
BASELINE_WIN_RATE = 0.55
HEALTHY_RECENT_WIN_RATE = 0.7
LOSING_RECENT_WIN_RATE = 0.2
# Version numbers are per registered model; these mimic a registry that has lived a while.
FOCAL_VERSIONS = {"BTCUSDC": 42, "ETHUSDC": 37, "SOLUSDC": 29, "XRPUSDC": 18, "ADAUSDC": 12}
START_PRICES = {
    "BTCUSDC": 91_000.0,
    "ETHUSDC": 3_050.0,
    "SOLUSDC": 142.0,
    "XRPUSDC": 2.2,
    "ADAUSDC": 0.42,
}


@dataclass(frozen=True, slots=True)
class DrillResult:
    """What a drill wrote: scenario, how many trades, which symbols it made negative."""

    scenario: str
    now: dt.datetime
    trades_written: int
    trades_replaced: int
    negative_symbols: tuple[str, ...]


def generate_drill_trades(
    scenario: str, *, now: dt.datetime, seed: int = 7, strategy: str = DEFAULT_STRATEGY
) -> list[Trade]:
    """The deterministic trade history of `scenario` ending at `now` (pure: no I/O)."""
    if scenario not in SCENARIOS:
        raise UserInputError(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    parsed = Strategy.parse(strategy)
    losing = set(SCENARIOS[scenario])
    trades: list[Trade] = []
    for index, symbol in enumerate(DEFAULT_SYMBOLS):
        rng = np.random.default_rng([seed, index])
        trades.extend(_symbol_history(symbol, parsed, now, rng, losing=symbol in losing))
    return trades


def _entry_times(now: dt.datetime, rng: np.random.Generator, horizon_h: int) -> list[dt.datetime]:
    boundaries = [
        now - dt.timedelta(hours=48),
        now - dt.timedelta(days=7),
        now - dt.timedelta(days=14),
    ]
    hour = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=HISTORY_DAYS)
    times: list[dt.datetime] = []
    while True:
        hour += dt.timedelta(hours=int(rng.integers(1, 4)))
        if hour + dt.timedelta(hours=horizon_h) > now:
            return times
        if all(abs(hour - b) > BOUNDARY_MARGIN for b in boundaries):
            times.append(hour)
        hour += dt.timedelta(hours=horizon_h)  # one open position per symbol


def _outcomes(n: int, win_rate: float, rng: np.random.Generator) -> list[str]:
    wins = round(n * win_rate)
    horizons = n // 10
    kinds = ["take_profit"] * wins + ["horizon"] * horizons
    kinds += ["stop_loss"] * (n - len(kinds))
    return [str(k) for k in rng.permutation(kinds)]


def _symbol_history(
    symbol: str, strategy: Strategy, now: dt.datetime, rng: np.random.Generator, *, losing: bool
) -> list[Trade]:
    times = _entry_times(now, rng, strategy.horizon_hours)
    recent_from = now - dt.timedelta(hours=48)
    focal_from = now - dt.timedelta(days=FOCAL_SINCE_DAYS)
    recent_win_rate = LOSING_RECENT_WIN_RATE if losing else HEALTHY_RECENT_WIN_RATE
    # Quotas per segment (binary era, focal baseline, last 48 h) keep every promise exact.
    segments = (
        ([t for t in times if t < focal_from], BASELINE_WIN_RATE),
        ([t for t in times if focal_from <= t < recent_from], BASELINE_WIN_RATE),
        ([t for t in times if t >= recent_from], recent_win_rate),
    )
    kinds = [kind for segment, rate in segments for kind in _outcomes(len(segment), rate, rng)]
    name = model_name(symbol, strategy)
    price = START_PRICES[symbol]
    trades = []
    for entry, kind in zip(times, kinds, strict=True):
        price *= float(np.exp(rng.normal(0.0, 0.01)))
        gross, held_h = _gross_return(kind, strategy, rng)
        focal = entry >= focal_from
        version = FOCAL_VERSIONS[symbol] - (0 if focal else 1)
        low, high = (0.6, 0.95) if focal else (0.55, 0.75)
        trades.append(
            Trade(
                trade_id=f"drill:{symbol}:{strategy.name}:{entry:%Y%m%dT%H%M}",
                crypto_symbol=symbol,
                strategy=strategy.name,
                model_name=name,
                model_version=version,
                model_loss_function="focal" if focal else "binary",
                entry_time=entry,
                exit_time=entry + held_h,
                entry_price=round(price, 6),
                exit_price=round(price * (1 + gross / 100), 6),
                exit_reason=kind,
                fees_pct=FEES_PCT,
                realized_pnl_pct=round(gross - FEES_PCT, 6),
                probability=round(float(rng.uniform(low, high)), 4),
                source="drill",
            )
        )
    return trades


def _gross_return(
    kind: str, strategy: Strategy, rng: np.random.Generator
) -> tuple[float, dt.timedelta]:
    if kind == "take_profit":
        return strategy.take_pct, dt.timedelta(
            hours=int(rng.integers(1, strategy.horizon_hours + 1))
        )
    if kind == "stop_loss":
        slippage = float(rng.uniform(0.0, 0.05))
        held = dt.timedelta(hours=int(rng.integers(1, strategy.horizon_hours + 1)))
        return -strategy.stop_pct - slippage, held
    spread = min(strategy.stop_pct, strategy.take_pct) / 2
    return float(rng.uniform(-spread, spread)), dt.timedelta(hours=strategy.horizon_hours)


def run_journal_drill(
    engine: Engine,
    scenario: str,
    *,
    seed: int = 7,
    actor: str,
    clock: Clock = utc_now,
) -> DrillResult:
    """Replace the previous drill history with `scenario`'s, in one audited transaction."""
    now = clock()
    trades = generate_drill_trades(scenario, now=now, seed=seed)
    with write_transaction(engine) as conn:
        replaced = delete_trades_from_source(conn, "drill")
        insert_trades(conn, trades)
        write_audit(
            conn,
            AuditEntry(
                at=utc_now(),
                actor=actor,
                action="drill.journal",
                target="trade_journal",
                reason=f"journal drill {scenario}",
                before={"drill_trades": replaced},
                after={
                    "drill_trades": len(trades),
                    "scenario": scenario,
                    "seed": seed,
                    "now": now.isoformat(),
                },
            ),
        )
    return DrillResult(scenario, now, len(trades), replaced, SCENARIOS[scenario])
