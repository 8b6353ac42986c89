"""One sweep cell's computation: a purged walk-forward of one loss on one symbol's dataset.

`run_cell` is pure: no database, no MLflow, no clock, no global state it does not restore, so
it runs the same in this process, in a process-pool worker or on a Dask worker, and gives the
same numbers for the same inputs (XGBoost's seed and thread count are part of the job).
Workers receive the datasets once: the process pool installs them with `install_datasets` when a
worker starts; Dask receives them scattered.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from cvntrade.features import Dataset
from cvntrade.gate.cells import Cell
from cvntrade.training.booster import BoosterParams
from cvntrade.training.evaluation import ValidationSettings, walk_forward

_INSTALLED: dict[str, Dataset] = {}


@dataclass(frozen=True, slots=True)
class CellJob:
    """Everything a worker needs to evaluate one cell (the dataset travels separately)."""

    sweep_key: str
    symbol: str
    cell: Cell
    params: BoosterParams
    validation: ValidationSettings
    calibrate: bool
    cost_pct: float
    break_even: float


@dataclass(frozen=True, slots=True)
class CellOutcome:
    """One evaluated cell: per-fold metrics (fold 1..N, in order) and the overall OOF metrics.

    Each fold's mapping is `FoldReport.as_metrics()`: `fold`, `train_rows`, `test_rows`,
    `temperature`, `threshold` and the metrics (`net_expectancy_pct` in percent, `f1_buy`,
    `ece_hold`, `n_trades`, …). NaN stays NaN here; storage turns it into JSON null.
    """

    job: CellJob
    folds: tuple[Mapping[str, float], ...]
    overall: Mapping[str, float]
    duration_s: float


def run_cell(job: CellJob, dataset: Dataset) -> CellOutcome:
    """Walk-forward `job.cell` on `dataset`; the same inputs always give the same outcome."""
    if dataset.symbol != job.symbol:
        raise ValueError(f"dataset of {dataset.symbol} given for a {job.symbol} cell")
    began = time.perf_counter()
    result = walk_forward(
        dataset,
        job.cell.loss_spec(),
        job.params,
        settings=job.validation,
        calibrate=job.calibrate,
        cost_pct=job.cost_pct,
        break_even=job.break_even,
    )
    overall = {
        **result.metrics,
        "temperature": result.temperature,
        "threshold": result.threshold.threshold,
    }
    return CellOutcome(
        job=job,
        folds=tuple(fold.as_metrics() for fold in result.folds),
        overall=overall,
        duration_s=time.perf_counter() - began,
    )


def install_datasets(datasets: Mapping[str, Dataset]) -> None:
    """Process-pool initializer: keep the sweep's datasets (by symbol) in this worker."""
    _INSTALLED.clear()
    _INSTALLED.update(datasets)


def run_installed_cell(job: CellJob) -> CellOutcome:
    """`run_cell` on the dataset `install_datasets` gave this worker process."""
    return run_cell(job, _INSTALLED[job.symbol])
