"""How sweeps and verdicts are shown: Rich tables for people, plain dicts for `--json`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from cvntrade.formatting import fmt_fixed, fmt_signed
from cvntrade.gate.results import CellResults

if TYPE_CHECKING:
    from cvntrade.gate.sweep import SweepReport, SymbolSweep
    from cvntrade.gate.verdict import GateVerdict


def sweep_json(report: SweepReport) -> dict[str, Any]:
    """The JSON form of a sweep report (NaN → null)."""
    return {
        "runner": report.runner,
        "duration_s": report.duration_s,
        "cell_seconds": report.cell_seconds,
        "trained": report.trained,
        "skipped": report.skipped,
        "symbols": [_symbol_json(s) for s in report.symbols],
    }


def _symbol_json(swept: SymbolSweep) -> dict[str, Any]:
    config = swept.config
    return {
        "symbol": config.symbol,
        "strategy": config.strategy,
        "sweep_key": config.key,
        "mlflow_run_id": swept.mlflow_run_id,
        "trained": swept.trained,
        "skipped": swept.skipped,
        "config": config.model_dump(mode="json"),
        "cells": [
            {
                "cell": c.cell.name,
                "loss_function": c.cell.loss,
                "gamma": c.cell.gamma,
                "alpha": c.cell.alpha,
                "mlflow_run_id": c.mlflow_run_id,
                "overall": finite(c.overall),
                "folds": [finite(f) for f in c.folds],
            }
            for c in swept.results.cells
        ],
    }


def finite(values: Mapping[str, float]) -> dict[str, float | None]:
    """Metrics with NaN replaced by None (JSON has no NaN)."""
    return {k: (None if math.isnan(v) else v) for k, v in values.items()}


def sweep_table(swept: SymbolSweep) -> Table:
    """One symbol's sweep: net expectancy per fold, uplift and wins vs baseline, F1, ECE, trades."""
    config, results = swept.config, swept.results
    table = Table(
        title=(
            f"{config.symbol} {config.strategy} — sweep {config.key}: {config.n_rows} rows "
            f"[{config.data_start} .. {config.data_end}), {config.folds} folds, calibration "
            f"{config.calibration}; {swept.trained} trained, {swept.skipped} already stored"
        ),
        caption=(
            "fold k / overall: net expectancy, percent per trade net of fees and slippage; "
            "Δ mean: mean per-fold uplift over the baseline; folds won: folds above it"
        ),
    )
    widest = max((len(c.cell.name) for c in results.cells), default=6)
    table.add_column("cell", no_wrap=True, min_width=widest)
    for k in range(1, config.folds + 1):
        table.add_column(f"fold {k}", justify="right")
    for name in ("overall", "Δ mean", "folds won", "f1_buy", "ece_hold", "min trades"):
        table.add_column(name, justify="right")
    baseline = results.baseline
    for cell in results.cells:
        table.add_row(*_sweep_row(cell, baseline))
    return table


def _sweep_row(cell: CellResults, baseline: CellResults | None) -> list[str]:
    net = cell.fold_values("net_expectancy_pct")
    uplift, won = "—", "—"
    if baseline is not None and not cell.cell.is_baseline:
        base = baseline.fold_values("net_expectancy_pct")
        diffs = [_zero(f) - _zero(b) for f, b in zip(net, base, strict=True)]
        uplift = fmt_signed(sum(diffs) / len(diffs))
        won = f"{sum(d > 0 for d in diffs)}/{len(diffs)}"
    trades = cell.fold_values("n_trades")
    return [
        cell.cell.name,
        *(_pct(v) for v in net),
        _pct(cell.overall.get("net_expectancy_pct", math.nan)),
        uplift,
        won,
        _num(cell.overall.get("f1_buy", math.nan)),
        _num(cell.overall.get("ece_hold", math.nan)),
        f"{min(_zero(t) for t in trades):.0f}" if trades else "—",
    ]


def verdict_title(verdict: GateVerdict) -> str:
    """One line: PASSED/FAILED, the cell, the sweep and the criteria version and source."""
    outcome = "PASSED" if verdict.passed else "FAILED"
    return (
        f"{verdict.symbol} {verdict.strategy}: FTF gate {outcome} for {verdict.cell.cell} "
        f"(sweep {verdict.sweep_key}, {verdict.n_folds} folds, criteria v"
        f"{verdict.criteria_version} from {verdict.criteria_source})"
    )


def verdict_table(verdict: GateVerdict) -> Table:
    """The verdict's cell, criterion by criterion."""
    table = Table(title=verdict_title(verdict))
    for name in ("criterion", "requirement", "observed", "result"):
        table.add_column(name)
    for criterion in verdict.cell.criteria:
        table.add_row(
            criterion.name,
            criterion.requirement,
            criterion.observed,
            Text("pass", style="green") if criterion.passed else Text("FAIL", style="red"),
        )
    return table


def candidates_table(verdict: GateVerdict) -> Table:
    """Every focal cell judged: criteria met, mean uplift, pass/fail."""
    table = Table(title="all focal cells")
    for name in ("cell", "criteria met", "folds won", "mean uplift %", "result"):
        table.add_column(name, justify="left" if name == "cell" else "right")
    for cell in verdict.candidates:
        table.add_row(
            cell.cell,
            f"{cell.n_passed}/{len(cell.criteria)}",
            str(cell.winning_folds),
            _pct(cell.mean_uplift_pct),
            Text("pass", style="green") if cell.passed else Text("fail", style="red"),
        )
    return table


def _zero(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def _pct(value: float) -> str:
    return fmt_signed(value)


def _num(value: float) -> str:
    return fmt_fixed(value)
