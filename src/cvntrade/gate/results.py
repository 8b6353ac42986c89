"""The `sweep_results` repository: per-fold metrics of every finished sweep cell.

A finished cell is stored as `folds + 1` rows written in one transaction: fold 1..N (each
fold's out-of-sample metrics) and fold 0 (the overall out-of-fold metrics of the walk-forward).
A cell therefore is either completely stored or absent, which is what makes a sweep resumable:
a cell with a fold-0 row is finished and never trained again for the same sweep key. Two sweeps
racing on the same key both compute the cell; the second insert hits the unique key
`(sweep_key, crypto_symbol, strategy, cell, fold)` and is dropped (the numbers are identical).

Metrics are JSON (`JSONB` on PostgreSQL), which has no NaN: NaN is stored as null and read back
as NaN.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from cvntrade.clock import Clock, utc_now
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import sweep_results
from cvntrade.errors import NotFoundError
from cvntrade.gate.cells import Cell
from cvntrade.gate.worker import CellOutcome

OVERALL_FOLD = 0


@dataclass(frozen=True, slots=True)
class CellResults:
    """A stored cell: its per-fold metrics (fold 1..N, in order) and overall OOF metrics."""

    cell: Cell
    folds: tuple[Mapping[str, float], ...]
    overall: Mapping[str, float]
    mlflow_run_id: str | None
    created_at: dt.datetime

    def fold_values(self, metric: str) -> tuple[float, ...]:
        """One metric across folds 1..N (NaN where missing)."""
        return tuple(float(fold.get(metric, math.nan)) for fold in self.folds)


@dataclass(frozen=True, slots=True)
class SweepResults:
    """Every finished cell of one sweep of one symbol: the baseline first, then focal by name."""

    sweep_key: str
    symbol: str
    strategy: str
    cells: tuple[CellResults, ...]

    @property
    def baseline(self) -> CellResults | None:
        """The binary baseline, when it has finished."""
        return next((c for c in self.cells if c.cell.is_baseline), None)

    @property
    def focal(self) -> tuple[CellResults, ...]:
        """The finished focal cells."""
        return tuple(c for c in self.cells if not c.cell.is_baseline)

    def cell(self, name: str) -> CellResults | None:
        """The finished cell called `name`, if any."""
        return next((c for c in self.cells if c.cell.name == name), None)


def stored_cells(engine: Engine, sweep_key: str, symbol: str, strategy: str) -> frozenset[str]:
    """Names of the cells of this sweep that are already stored (finished)."""
    query = select(sweep_results.c.cell).where(
        sweep_results.c.sweep_key == sweep_key,
        sweep_results.c.crypto_symbol == symbol,
        sweep_results.c.strategy == strategy,
        sweep_results.c.fold == OVERALL_FOLD,
    )
    with engine.connect() as conn:
        return frozenset(str(name) for name in conn.execute(query).scalars())


def save_cell(
    engine: Engine,
    outcome: CellOutcome,
    *,
    strategy: str,
    mlflow_run_id: str | None,
    clock: Clock = utc_now,
) -> bool:
    """Store a finished cell (all folds and fold 0) atomically; False if already stored."""
    job, now = outcome.job, clock()
    base = {
        "sweep_key": job.sweep_key,
        "crypto_symbol": job.symbol,
        "strategy": strategy,
        "cell": job.cell.name,
        "loss_function": job.cell.loss,
        "gamma": job.cell.gamma,
        "alpha": job.cell.alpha,
        "mlflow_run_id": mlflow_run_id,
        "created_at": now,
    }
    rows = [{**base, "fold": OVERALL_FOLD, "metrics": _to_json(outcome.overall)}]
    rows += [
        {**base, "fold": int(fold["fold"]), "metrics": _to_json(fold)} for fold in outcome.folds
    ]
    try:
        with write_transaction(engine) as conn:
            conn.execute(insert(sweep_results), rows)
    except IntegrityError:
        return False
    return True


def latest_sweep_key(engine: Engine, symbol: str, strategy: str) -> str | None:
    """The key of the sweep of (symbol, strategy) that stored a cell last, if any."""
    query = (
        select(sweep_results.c.sweep_key)
        .where(sweep_results.c.crypto_symbol == symbol, sweep_results.c.strategy == strategy)
        .group_by(sweep_results.c.sweep_key)
        .order_by(func.max(sweep_results.c.id).desc())
        .limit(1)
    )
    with engine.connect() as conn:
        found = conn.execute(query).scalar_one_or_none()
    return None if found is None else str(found)


def load_sweep(
    engine: Engine, symbol: str, strategy: str, sweep_key: str | None = None
) -> SweepResults:
    """The finished cells of a sweep (default: the latest of this symbol and strategy).

    Raises `NotFoundError` when there is no such sweep.
    """
    key = sweep_key or latest_sweep_key(engine, symbol, strategy)
    if key is None:
        raise NotFoundError(
            f"no sweep results for {symbol} {strategy}: run `cvntrade sweep --symbols {symbol} "
            f"--strategy {strategy} …` first"
        )
    query = (
        select(sweep_results)
        .where(
            sweep_results.c.sweep_key == key,
            sweep_results.c.crypto_symbol == symbol,
            sweep_results.c.strategy == strategy,
        )
        .order_by(sweep_results.c.cell, sweep_results.c.fold)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    if not rows:
        raise NotFoundError(f"no results of sweep {key} for {symbol} {strategy}")
    by_cell: dict[str, list[Mapping[str, object]]] = {}
    for row in rows:
        by_cell.setdefault(str(row["cell"]), []).append(dict(row))
    cells = [_cell_results(name, found) for name, found in by_cell.items()]
    finished = [c for c in cells if c is not None]
    finished.sort(key=lambda c: (not c.cell.is_baseline, c.cell.gamma or 0.0, c.cell.alpha or 0.0))
    return SweepResults(key, symbol, strategy, tuple(finished))


def _cell_results(name: str, rows: list[Mapping[str, object]]) -> CellResults | None:
    overall = next((r for r in rows if r["fold"] == OVERALL_FOLD), None)
    if overall is None:
        return None
    folds = sorted(
        (r for r in rows if r["fold"] != OVERALL_FOLD), key=lambda r: int(str(r["fold"]))
    )
    created = overall["created_at"]
    assert isinstance(created, dt.datetime)
    run_id = overall["mlflow_run_id"]
    return CellResults(
        cell=Cell.parse(name),
        folds=tuple(_from_json(r["metrics"]) for r in folds),
        overall=_from_json(overall["metrics"]),
        mlflow_run_id=None if run_id is None else str(run_id),
        created_at=created,
    )


def _to_json(values: Mapping[str, float]) -> dict[str, float | None]:
    return {k: (None if math.isnan(float(v)) else float(v)) for k, v in values.items()}


def _from_json(payload: object) -> dict[str, float]:
    if not isinstance(payload, Mapping):
        raise ValueError(f"sweep_results.metrics is not a JSON object: {payload!r}")
    return {str(k): (math.nan if v is None else float(v)) for k, v in payload.items()}
