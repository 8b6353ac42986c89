"""The gate's verdict: does a focal cell beat the binary baseline by the written criteria?

Each focal cell of a sweep is judged against the baseline fold by fold (the same purged folds).
With `d_k` = focal minus baseline net expectancy of fold `k` (percent per trade; a fold
without trades counts as 0, since not trading earns nothing), a cell passes when

* `net_expectancy_wins`: at least `min_winning_folds` folds have
  `d_k >= min_net_expectancy_uplift_pct` and `d_k > 0`;
* `worst_fold_shortfall`: every `d_k >= -max_fold_shortfall_pct`;
* `f1_buy_uplift`: the mean over folds of F1_BUY(focal) - F1_BUY(baseline) is
  `>= min_f1_buy_uplift`;
* `ece_hold`: the focal cell's overall out-of-fold ECE_HOLD is `<= max_ece_hold`;
* `trades_per_fold`: the focal cell simulates `>= min_trades_per_fold` trades in every fold;
* `two_class_folds`: every fold's test block holds both classes (positive rate strictly between
  0 and 1; always required): on a one-class block AUC is undefined and log loss, Brier and ECE
  are trivially near 0, so the fold cannot vouch for anything.

Thresholds are compared with a slack of 1e-9 (floating-point rounding). The verdict's cell is
the passing cell with the highest mean uplift (ties: by name); when none passes, the cell
closest to passing (most criteria met, then mean uplift), so the operator sees what failed and
by how much.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cvntrade.errors import DataError, NotFoundError, UserInputError
from cvntrade.formatting import fmt_fixed, fmt_signed
from cvntrade.gate.criteria import GateCriteria, LoadedCriteria
from cvntrade.gate.results import CellResults, SweepResults, load_sweep

if TYPE_CHECKING:
    from sqlalchemy import Engine

TOLERANCE = 1e-9
"""Slack of every threshold comparison, so `0.12 - 0.10` meets an uplift of `0.02`."""


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One criterion for one cell: what is required, what was observed, and the outcome."""

    name: str
    requirement: str
    observed: str
    passed: bool


@dataclass(frozen=True, slots=True)
class CellVerdict:
    """A focal cell judged against the baseline."""

    cell: str
    gamma: float | None
    alpha: float | None
    criteria: tuple[CriterionResult, ...]
    mean_uplift_pct: float
    """Mean over folds of focal minus baseline net expectancy, percent per trade."""
    winning_folds: int

    @property
    def passed(self) -> bool:
        """True when every criterion passed."""
        return all(c.passed for c in self.criteria)

    @property
    def n_passed(self) -> int:
        """How many criteria passed."""
        return sum(c.passed for c in self.criteria)


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """The gate's decision for one symbol's sweep under one criteria file."""

    symbol: str
    strategy: str
    sweep_key: str
    n_folds: int
    criteria_version: int
    criteria_source: str
    criteria_sha256: str
    cell: CellVerdict
    """The cell the verdict is about: the best passing cell, else the one closest to passing."""
    candidates: tuple[CellVerdict, ...]

    @property
    def passed(self) -> bool:
        """True when the verdict's cell passed every criterion."""
        return self.cell.passed

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the `gate check --json` output and the promotion audit's `verdict`)."""
        payload = asdict(self)
        payload["passed"] = self.passed
        for cell in [payload["cell"], *payload["candidates"]]:
            cell["passed"] = all(c["passed"] for c in cell["criteria"])
            if math.isnan(cell["mean_uplift_pct"]):
                cell["mean_uplift_pct"] = None
        return payload


def check_gate(
    engine: Engine,
    symbol: str,
    strategy: str,
    criteria: LoadedCriteria,
    *,
    sweep_key: str | None = None,
    cell: str | None = None,
) -> GateVerdict:
    """The verdict on the latest sweep of (symbol, strategy), or on `sweep_key`'s."""
    return evaluate_gate(criteria, load_sweep(engine, symbol, strategy, sweep_key), cell=cell)


def evaluate_gate(
    loaded: LoadedCriteria, sweep: SweepResults, *, cell: str | None = None
) -> GateVerdict:
    """Judge every focal cell of `sweep` (or only `cell`) and pick the verdict's cell."""
    baseline = sweep.baseline
    what = f"sweep {sweep.sweep_key} of {sweep.symbol} {sweep.strategy}"
    if baseline is None:
        raise UserInputError(
            f"{what} has no finished binary baseline yet: resume it by re-running the sweep"
        )
    candidates = sweep.focal
    if cell is not None:
        candidates = tuple(c for c in candidates if c.cell.name == cell)
        if not candidates:
            swept = ", ".join(c.cell.name for c in sweep.focal) or "none"
            raise NotFoundError(f"cell {cell} is not a finished cell of {what} (finished: {swept})")
    if not candidates:
        raise UserInputError(f"{what} has no finished focal cell yet: re-run the sweep")
    judged = tuple(_judge(loaded.criteria, baseline, c) for c in candidates)
    passing = sorted((c for c in judged if c.passed), key=lambda c: (-_score(c), c.cell))
    chosen = passing[0] if passing else min(judged, key=lambda c: (-c.n_passed, -_score(c), c.cell))
    return GateVerdict(
        symbol=sweep.symbol,
        strategy=sweep.strategy,
        sweep_key=sweep.sweep_key,
        n_folds=len(baseline.folds),
        criteria_version=loaded.criteria.version,
        criteria_source=loaded.source,
        criteria_sha256=loaded.sha256,
        cell=chosen,
        candidates=judged,
    )


def _score(cell: CellVerdict) -> float:
    return -math.inf if math.isnan(cell.mean_uplift_pct) else cell.mean_uplift_pct


def _judge(criteria: GateCriteria, baseline: CellResults, focal: CellResults) -> CellVerdict:
    base_numbers = [int(f.get("fold", 0)) for f in baseline.folds]
    if not base_numbers or [int(f.get("fold", 0)) for f in focal.folds] != base_numbers:
        raise DataError(
            f"cell {focal.cell.name} and the baseline have different folds: the sweep's rows "
            "are inconsistent"
        )
    n = len(base_numbers)
    uplift = [
        _zero_if_nan(f) - _zero_if_nan(b)
        for f, b in zip(
            focal.fold_values("net_expectancy_pct"),
            baseline.fold_values("net_expectancy_pct"),
            strict=True,
        )
    ]
    x = criteria.min_net_expectancy_uplift_pct
    wins = sum(1 for d in uplift if d >= x - TOLERANCE and d > TOLERANCE)
    worst = min(range(n), key=lambda k: uplift[k])
    f1 = [
        _zero_if_nan(f) - _zero_if_nan(b)
        for f, b in zip(focal.fold_values("f1_buy"), baseline.fold_values("f1_buy"), strict=True)
    ]
    f1_mean = sum(f1) / n
    ece = float(focal.overall.get("ece_hold", math.nan))
    trades = focal.fold_values("n_trades")
    fewest = min(range(n), key=lambda k: _zero_if_nan(trades[k]))
    results = (
        CriterionResult(
            "net_expectancy_wins",
            f">= {criteria.min_winning_folds} of {n} folds beat the baseline by >= {x:g} %",
            f"{wins} of {n} (uplift per fold: {', '.join(fmt_signed(d) for d in uplift)})",
            wins >= criteria.min_winning_folds,
        ),
        CriterionResult(
            "worst_fold_shortfall",
            f"no fold below the baseline by more than {criteria.max_fold_shortfall_pct:g} %",
            f"worst fold {base_numbers[worst]}: {fmt_signed(uplift[worst])} %",
            uplift[worst] >= -criteria.max_fold_shortfall_pct - TOLERANCE,
        ),
        CriterionResult(
            "f1_buy_uplift",
            f"mean F1_BUY uplift >= {criteria.min_f1_buy_uplift:g}",
            fmt_signed(f1_mean),
            f1_mean >= criteria.min_f1_buy_uplift - TOLERANCE,
        ),
        CriterionResult(
            "ece_hold",
            f"overall ECE_HOLD <= {criteria.max_ece_hold:g}",
            "n/a" if math.isnan(ece) else fmt_fixed(ece),
            not math.isnan(ece) and ece <= criteria.max_ece_hold + TOLERANCE,
        ),
        CriterionResult(
            "trades_per_fold",
            f">= {criteria.min_trades_per_fold} trades in every fold",
            f"fewest {_zero_if_nan(trades[fewest]):.0f} (fold {base_numbers[fewest]})",
            all(_zero_if_nan(t) >= criteria.min_trades_per_fold for t in trades),
        ),
        _two_class_folds(focal, base_numbers),
    )
    return CellVerdict(
        cell=focal.cell.name,
        gamma=focal.cell.gamma,
        alpha=focal.cell.alpha,
        criteria=results,
        mean_uplift_pct=sum(uplift) / n,
        winning_folds=wins,
    )


def _two_class_folds(focal: CellResults, numbers: list[int]) -> CriterionResult:
    """Every fold's test block has both classes (a missing positive rate is not held against
    the cell: sweeps stored before it was recorded)."""
    rates = focal.fold_values("positive_rate")
    one_class = [numbers[k] for k, rate in enumerate(rates) if rate in (0.0, 1.0)]
    return CriterionResult(
        "two_class_folds",
        "every fold's test block has both classes",
        "all folds"
        if not one_class
        else f"one class only in fold(s) {', '.join(map(str, one_class))}",
        not one_class,
    )


def _zero_if_nan(value: float) -> float:
    return 0.0 if math.isnan(value) else value
