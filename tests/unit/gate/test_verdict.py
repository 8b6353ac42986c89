"""The gate's criteria on hand-made fold metrics: each one flips exactly at its threshold."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import replace

import pytest

from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.gate import Cell, SweepResults, evaluate_gate, parse_criteria
from cvntrade.gate.cells import BASELINE
from cvntrade.gate.results import CellResults

NAN = math.nan
CRITERIA = """\
version: 3
min_net_expectancy_uplift_pct: 0.02
min_winning_folds: 2
max_fold_shortfall_pct: 0.05
min_f1_buy_uplift: 0.0
max_ece_hold: 0.05
min_trades_per_fold: 30
"""


def cell(
    which: Cell,
    net: Sequence[float],
    *,
    f1: Sequence[float] | None = None,
    trades: Sequence[float] | None = None,
    ece: float = 0.03,
) -> CellResults:
    folds = tuple(
        {
            "fold": float(k + 1),
            "net_expectancy_pct": value,
            "f1_buy": (f1 or [0.4] * len(net))[k],
            "n_trades": (trades or [50.0] * len(net))[k],
            "ece_hold": 0.2,
        }
        for k, value in enumerate(net)
    )
    return CellResults(
        cell=which,
        folds=folds,
        overall={"ece_hold": ece, "net_expectancy_pct": sum(net) / len(net)},
        mlflow_run_id=None,
        created_at=dt.datetime(2026, 11, 24),
    )


def sweep(*cells: CellResults) -> SweepResults:
    return SweepResults("k" * 16, "BTCUSDC", "SL0.5_TP1_H4", cells)


BASE = cell(BASELINE, [0.10, 0.00, -0.05])
FOCAL = Cell("focal", 2.0, 0.25)


def judge(focal: CellResults, criteria: str = CRITERIA) -> dict[str, bool]:
    verdict = evaluate_gate(parse_criteria(criteria, "test"), sweep(BASE, focal))
    return {c.name: c.passed for c in verdict.cell.criteria}


def test_a_cell_beating_the_baseline_everywhere_passes_every_criterion() -> None:
    verdict = evaluate_gate(
        parse_criteria(CRITERIA, "test.yaml"), sweep(BASE, cell(FOCAL, [0.13, 0.03, -0.02]))
    )
    assert verdict.passed and verdict.cell.cell == "focal_g2_a0.25"
    assert (verdict.criteria_version, verdict.criteria_source, verdict.n_folds) == (
        3,
        "test.yaml",
        3,
    )
    assert verdict.cell.winning_folds == 3
    assert verdict.cell.mean_uplift_pct == pytest.approx(0.03)
    payload = verdict.to_dict()
    assert payload["passed"] is True and payload["cell"]["passed"] is True
    assert [c["name"] for c in payload["cell"]["criteria"]] == [
        "net_expectancy_wins",
        "worst_fold_shortfall",
        "f1_buy_uplift",
        "ece_hold",
        "trades_per_fold",
        "two_class_folds",
    ]


def test_a_fold_with_one_class_fails_the_gate() -> None:
    one_class = cell(FOCAL, [0.13, 0.03, -0.02])
    folds = tuple(
        dict(f, positive_rate=0.0 if k == 1 else 0.3) for k, f in enumerate(one_class.folds)
    )
    verdict = evaluate_gate(
        parse_criteria(CRITERIA, "test"), sweep(BASE, replace(one_class, folds=folds))
    )
    assert not verdict.passed
    failed = [c for c in verdict.cell.criteria if not c.passed]
    assert [(c.name, c.observed) for c in failed] == [
        ("two_class_folds", "one class only in fold(s) 2")
    ]


def test_wins_need_the_uplift_on_enough_folds() -> None:
    # uplifts +0.02, +0.01, +0.02: two folds reach 0.02
    assert judge(cell(FOCAL, [0.12, 0.01, -0.03]))["net_expectancy_wins"]
    # uplifts +0.02, +0.01, +0.019: only one does
    assert not judge(cell(FOCAL, [0.12, 0.01, -0.031]))["net_expectancy_wins"]


def test_a_tie_never_counts_as_a_win_even_with_a_zero_threshold() -> None:
    lenient = CRITERIA.replace("uplift_pct: 0.02", "uplift_pct: 0.0")
    assert not judge(cell(FOCAL, [0.10, 0.00, -0.05]), lenient)["net_expectancy_wins"]


def test_no_fold_may_trail_the_baseline_by_more_than_the_shortfall() -> None:
    assert judge(cell(FOCAL, [0.13, 0.03, -0.10]))["worst_fold_shortfall"]  # -0.05: allowed
    assert not judge(cell(FOCAL, [0.13, 0.03, -0.1001]))["worst_fold_shortfall"]


def test_a_fold_without_trades_counts_as_zero_expectancy() -> None:
    # baseline fold 2 is 0.00; focal has no trades there (NaN): uplift 0, not a win, no shortfall
    verdict = evaluate_gate(
        parse_criteria(CRITERIA, "t"), sweep(BASE, cell(FOCAL, [0.13, NAN, -0.02]))
    )
    assert verdict.cell.winning_folds == 2
    assert "+0.0000" in verdict.cell.criteria[0].observed


def test_f1_buy_uplift_is_the_mean_over_folds() -> None:
    good = cell(FOCAL, [0.13, 0.03, -0.02], f1=[0.5, 0.3, 0.4])  # +0.1, -0.1, 0: mean 0
    assert judge(good)["f1_buy_uplift"]
    bad = cell(FOCAL, [0.13, 0.03, -0.02], f1=[0.5, 0.3, 0.39])
    assert not judge(bad)["f1_buy_uplift"]


def test_ece_uses_the_overall_out_of_fold_value_and_nan_fails() -> None:
    assert judge(cell(FOCAL, [0.13, 0.03, -0.02], ece=0.05))["ece_hold"]
    assert not judge(cell(FOCAL, [0.13, 0.03, -0.02], ece=0.0501))["ece_hold"]
    assert not judge(cell(FOCAL, [0.13, 0.03, -0.02], ece=NAN))["ece_hold"]


def test_every_fold_needs_enough_trades() -> None:
    assert judge(cell(FOCAL, [0.13, 0.03, -0.02], trades=[30, 31, 90]))["trades_per_fold"]
    assert not judge(cell(FOCAL, [0.13, 0.03, -0.02], trades=[30, 29, 90]))["trades_per_fold"]


def test_the_verdict_flips_with_the_criteria_both_ways() -> None:
    focal = cell(FOCAL, [0.13, 0.03, -0.02], trades=[40, 40, 40])
    stricter = CRITERIA.replace("min_trades_per_fold: 30", "min_trades_per_fold: 41")
    results = [
        evaluate_gate(parse_criteria(text, "t"), sweep(BASE, focal)).passed
        for text in (CRITERIA, stricter, CRITERIA)
    ]
    assert results == [True, False, True]


def test_the_best_passing_cell_is_chosen_else_the_closest_to_passing() -> None:
    small = cell(Cell("focal", 1.0, 0.5), [0.13, 0.03, -0.02])  # mean uplift +0.03
    large = cell(Cell("focal", 0.5, 0.5), [0.20, 0.05, 0.00])  # +0.0667
    failing = cell(Cell("focal", 2.0, 0.75), [0.50, 0.50, 0.50], ece=0.9)  # ECE fails
    verdict = evaluate_gate(parse_criteria(CRITERIA, "t"), sweep(BASE, small, failing, large))
    assert verdict.cell.cell == "focal_g0.5_a0.5" and verdict.passed
    assert len(verdict.candidates) == 3
    nothing = evaluate_gate(
        parse_criteria(CRITERIA, "t"),
        sweep(BASE, failing, cell(FOCAL, [0.0, 0.0, 0.0], trades=[1, 1, 1])),
    )
    assert not nothing.passed and nothing.cell.cell == "focal_g2_a0.75"  # 4 of 5 criteria


def test_one_cell_can_be_judged_alone() -> None:
    good = cell(Cell("focal", 0.5, 0.5), [0.20, 0.05, 0.00])
    bad = cell(FOCAL, [0.0, 0.0, 0.0])
    verdict = evaluate_gate(parse_criteria(CRITERIA, "t"), sweep(BASE, good, bad), cell=FOCAL.name)
    assert verdict.cell.cell == FOCAL.name and not verdict.passed
    with pytest.raises(NotFoundError, match=r"focal_g9_a0\.5 is not a finished cell"):
        evaluate_gate(parse_criteria(CRITERIA, "t"), sweep(BASE, good), cell="focal_g9_a0.5")


def test_a_sweep_without_baseline_or_focal_cells_cannot_be_judged() -> None:
    criteria = parse_criteria(CRITERIA, "t")
    with pytest.raises(UserInputError, match="no finished binary baseline"):
        evaluate_gate(criteria, sweep(cell(FOCAL, [0.1, 0.1, 0.1])))
    with pytest.raises(UserInputError, match="no finished focal cell"):
        evaluate_gate(criteria, sweep(BASE))
