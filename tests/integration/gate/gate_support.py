"""Constants and helpers shared by the gate integration tests."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy import Engine, func, select

from cvntrade.db.tables import sweep_results
from cvntrade.features import Dataset
from cvntrade.gate import InlineRunner, SweepRequest
from cvntrade.gate.results import SweepResults
from cvntrade.gate.worker import CellJob, CellOutcome
from cvntrade.training.booster import BoosterParams

SYMBOLS = ("BTCUSDC", "ETHUSDC")
STRATEGY = "SL0.5_TP1_H4"
FAST = BoosterParams(rounds=10, nthread=1)  # few rounds: plumbing, not model quality
FOLDS = 2
GAMMAS = (1.0, 2.0)
ALPHAS = (0.25,)
CELLS = ("binary", "focal_g1_a0.25", "focal_g2_a0.25")

LENIENT = """\
version: 7
min_net_expectancy_uplift_pct: 0.0
min_winning_folds: 0
max_fold_shortfall_pct: 1000.0
min_f1_buy_uplift: -1.0
max_ece_hold: 1.0
min_trades_per_fold: 0
"""
STRICT = LENIENT.replace("version: 7", "version: 8").replace(
    "min_trades_per_fold: 0", "min_trades_per_fold: 1000000"
)


def request(symbols: Sequence[str] = SYMBOLS, **changes: object) -> SweepRequest:
    """The tests' small sweep: 2 folds, 10 rounds, gammas 1 and 2 at alpha 0.25."""
    options: dict[str, object] = {
        "symbols": tuple(symbols),
        "gammas": GAMMAS,
        "alphas": ALPHAS,
        "strategy": STRATEGY,
        "folds": FOLDS,
        "params": FAST,
        **changes,
    }
    return SweepRequest(**options)  # type: ignore[arg-type]


class CountingRunner:
    """Runs cells in-process and records every job it was given (to count what was trained)."""

    description = "counting"

    def __init__(self, stop_after: int | None = None) -> None:
        self.jobs: list[CellJob] = []
        self.stop_after = stop_after

    def run(
        self, jobs: Sequence[CellJob], datasets: Mapping[str, Dataset]
    ) -> Iterator[CellOutcome]:
        """Like `InlineRunner`; raises `KeyboardInterrupt` after `stop_after` cells."""
        for outcome in InlineRunner().run(jobs, datasets):
            self.jobs.append(outcome.job)
            yield outcome
            if self.stop_after is not None and len(self.jobs) >= self.stop_after:
                raise KeyboardInterrupt("interrupted by the test")


def row_state(engine: Engine) -> tuple[int, int | None]:
    """Row count and highest id of `sweep_results` (unchanged = nothing written)."""
    with engine.connect() as conn:
        count, top = conn.execute(
            select(func.count(), func.max(sweep_results.c.id)).select_from(sweep_results)
        ).one()
    return int(count), top


def numbers(results: SweepResults) -> dict[str, list[dict[str, float | None]]]:
    """Every stored metric of a sweep, cell by cell (overall first), NaN as None."""

    def clean(values: Mapping[str, float]) -> dict[str, float | None]:
        return {k: None if math.isnan(v) else v for k, v in values.items()}

    return {c.cell.name: [clean(c.overall), *(clean(f) for f in c.folds)] for c in results.cells}
