"""The demo's plan (pure): which world, which timeline, and the chapters with the commands an
operator would type for each.

The demo is an `implementation-regression` drill world (`cvntrade.drill.scenario`): binary and
focal champions trained on a synthetic 5-symbol market, then, at the event, a focal retrain
with a defective objective (a sign error, planted in memory only) is promoted and loses money.
Of the five worlds it is the one in which rolling back to the binary champions *is* the cure
(the market itself did not change), so the story can honestly end with expectancy recovering;
in the market-drift worlds the binary champions face the same changed market (docs/demo.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cvntrade.drill.scenario import WorldPlan, plan_world
from cvntrade.drill.world_models import PROMOTION_REASON
from cvntrade.errors import UserInputError
from cvntrade.strategy import DEFAULT_STRATEGY, DEFAULT_SYMBOLS, model_name

CAUSE = "implementation-regression"
DEFAULT_SEED = 1
DEMO_NOW = dt.datetime(2026, 11, 30, 12)
"""The world's present: fixed, so a seed gives the same database and files on every run."""
FAST_SYMBOLS = DEFAULT_SYMBOLS[:3]
RECHECK_EVERY = dt.timedelta(hours=12)
"""The engine trades this long after the alert, then the on-call runs `runbook escalate`;
again while the verdict is `not_yet_known` (fewer than 3 trades since the rollback)."""
AFTER_HOURS = 72
"""The world's future: at most this long after the alert (six re-checks)."""
ALERT_FOR = dt.timedelta(minutes=15)
"""The rule's `for:` (the built-in evaluator's default): pending first, firing 15 min later."""
RUNBOOK_AFTER = dt.timedelta(minutes=20)
"""When the on-call runs the runbook: 20 min after the first evaluation (5 min after firing)."""
ACTOR = "oncall"
MAX_SEED = 2**31 - 1


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """The demo's world and timeline (naive UTC)."""

    seed: int
    fast: bool
    world: WorldPlan

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols traded."""
        return self.world.symbols

    @property
    def now(self) -> dt.datetime:
        """The first evaluation of the alert: the end of the world's recorded trading."""
        return self.world.now

    @property
    def fired_at(self) -> dt.datetime:
        """The evaluation at which the rule has held for `ALERT_FOR`: firing."""
        return self.now + ALERT_FOR

    @property
    def runbook_at(self) -> dt.datetime:
        """When `runbook run --yes` runs (its `--now`)."""
        return self.now + RUNBOOK_AFTER

    @property
    def rechecks(self) -> tuple[dt.datetime, ...]:
        """When `runbook escalate` runs, until its verdict is definite: every `RECHECK_EVERY`
        after the alert, up to the end of the world's future."""
        out, at = [], self.now + RECHECK_EVERY
        while at <= self.world.market_end:
            out.append(at)
            at += RECHECK_EVERY
        return tuple(out)


def demo_plan(*, seed: int = DEFAULT_SEED, fast: bool = False) -> DemoPlan:
    """The plan for `seed` (full: 5 symbols, the gate swept on each; fast: 3, swept on one)."""
    if not 0 <= seed <= MAX_SEED:
        raise UserInputError(f"--seed must be in [0, {MAX_SEED}] (got {seed})")
    world = plan_world(
        CAUSE,
        seed=seed,
        symbols=FAST_SYMBOLS if fast else DEFAULT_SYMBOLS,
        now=DEMO_NOW,
        after_hours=AFTER_HOURS,
    )
    return DemoPlan(seed=seed, fast=fast, world=world)


@dataclass(frozen=True, slots=True)
class Chapter:
    """One chapter of the story: its number, title and the equivalent operator commands."""

    number: int
    title: str
    commands: tuple[str, ...]


def _iso(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


def chapters(plan: DemoPlan, home: Path) -> tuple[Chapter, ...]:
    """The eight chapters with the `cvntrade` commands an operator would type (pure)."""
    w = plan.world
    symbols = ",".join(plan.symbols)
    first = plan.symbols[0]
    train = f"--start {_iso(w.start)} --end {_iso(w.train_end)} --folds 3 --rounds {w.rounds}"
    name = model_name(first, DEFAULT_STRATEGY)
    env = f"CVN_HOME={home}"
    return (
        Chapter(
            1,
            "A synthetic market",
            (
                f"{env} cvntrade data synth --symbols {symbols} --start {_iso(w.start)} "
                f"--end {_iso(w.now)} --seed {plan.seed} --signal-strength 2",
            ),
        ),
        Chapter(
            2,
            "Binary and focal training, the sweep gate, focal promoted",
            (
                f"cvntrade train --symbol {first} --loss binary:logistic {train}   # each symbol",
                "cvntrade config set CVN_LOSS_FUNCTION=focal CVN_FOCAL_GAMMA=2.0 "
                "CVN_FOCAL_ALPHA=0.25",
                f"cvntrade train --symbol {first} {train}   # each symbol",
                f"cvntrade sweep --symbols {first} --gammas 2 --alphas 0.25 {train}",
                f"cvntrade gate check --symbol {first}",
                f"cvntrade models set-alias --name {name} --alias champion --version 2 "
                f"--reason '{PROMOTION_REASON}'",
            ),
        ),
        Chapter(
            3,
            "The paper engine trades through the event",
            (
                f"cvntrade trade paper --symbols {symbols} --from {_iso(w.trading_start)} "
                f"--to {_iso(w.now)}",
            ),
        ),
        Chapter(
            4,
            "The built-in evaluator fires the alert by itself",
            ("cvntrade monitor serve --for 15m   # the evaluator of `cvntrade up`",),
        ),
        Chapter(5, "The runbook", (f"cvntrade runbook run --yes --now {_iso(plan.runbook_at)}",)),
        Chapter(
            6,
            "The binary champions trade; expectancy recovers",
            (
                f"cvntrade trade paper --symbols {symbols} --from {_iso(w.now)} "
                f"--to {_iso(plan.rechecks[0])}",
                f"cvntrade runbook escalate --now {_iso(plan.rechecks[0])}   # every "
                f"{RECHECK_EVERY.total_seconds() / 3600:g} h until recovered or not",
            ),
        ),
        Chapter(
            7,
            "The incident written up",
            (
                "cvntrade incident close 1 --reason 'expectancy recovered after the rollback'"
                "   # the incident the evaluator opened",
            ),
        ),
        Chapter(
            8,
            "Summary",
            (
                f"{env} cvntrade users add you --role viewer   # once: the console's login",
                f"{env} cvntrade console   # http://127.0.0.1:8080",
            ),
        ),
    )
