"""The FTF sweep: every focal (gamma, alpha) cell and the binary baseline, same folds, per symbol.

For each symbol the sweep builds the dataset once, fixes the walk-forward (the same purged folds
for every cell: they depend only on the rows, the fold count, the scheme and the embargo), and
derives the `SweepConfig` and its key. Cells already in `sweep_results` under that key are
skipped (resume); the others run on a `CellRunner` (in-process, local process pool or Dask).
Each finished cell is logged as an MLflow child run and then stored, one transaction per cell,
as soon as it arrives, so an interrupted sweep loses at most the cells that were running.

MLflow is contacted before any training (the parent runs are created first): an unreachable
registry stops the sweep with `DependencyError` before it computes anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cvntrade.clock import Clock, utc_now
from cvntrade.errors import UserInputError
from cvntrade.features import Dataset
from cvntrade.gate.cells import Cell, sweep_cells
from cvntrade.gate.config import SweepConfig, params_dict
from cvntrade.gate.results import SweepResults, load_sweep, save_cell, stored_cells
from cvntrade.gate.runners import CellRunner, make_runner
from cvntrade.gate.tracking import SweepTracker
from cvntrade.gate.worker import CellJob
from cvntrade.market import ParquetStore, interval_ms
from cvntrade.strategy import DEFAULT_STRATEGY, Strategy, parse_symbol, strategy_label
from cvntrade.training.booster import BoosterParams
from cvntrade.training.context import iso
from cvntrade.training.data import (
    TimeLike,
    as_utc_timestamp,
    load_dataset,
    refuse_degenerate_labels,
)
from cvntrade.training.evaluation import MIN_TRAIN_ROWS
from cvntrade.training.simulation import DEFAULT_MIN_TRADES, break_even_probability
from cvntrade.training.walk_forward import Scheme, as_epoch_ms, purged_walk_forward

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cvntrade.settings import Settings

MAX_FOLDS = 20
SWEEP_PARAMS = BoosterParams(nthread=1)
"""Default XGBoost parameters of a sweep cell: training's defaults on one thread per cell
(cells run side by side; one OpenMP thread each avoids oversubscribing the cores)."""

SweepProgress = Callable[[str, int, int], None]
"""Called as `progress(stage, done_cells, total_cells)` after each finished (or skipped) cell."""


@dataclass(frozen=True, slots=True)
class SweepRequest:
    """What to sweep. `calibration=None` takes `CVN_CALIBRATION` from `ftf_config`."""

    symbols: tuple[str, ...]
    gammas: tuple[float, ...]
    alphas: tuple[float, ...]
    strategy: str = DEFAULT_STRATEGY
    folds: int = 5
    calibration: str | None = None
    params: BoosterParams = SWEEP_PARAMS
    scheme: Scheme = "expanding"
    embargo_bars: int | None = None
    min_trades: int = DEFAULT_MIN_TRADES
    start: TimeLike | None = None
    end: TimeLike | None = None
    interval: str = "1h"


@dataclass(frozen=True, slots=True)
class SymbolSweep:
    """One symbol's sweep after this run: its config/key, results, and what this run did."""

    config: SweepConfig
    results: SweepResults
    trained: int
    skipped: int
    mlflow_run_id: str

    @property
    def sweep_key(self) -> str:
        """The sweep key of this symbol."""
        return self.config.key


@dataclass(frozen=True, slots=True)
class SweepReport:
    """The outcome of `run_sweep`: one `SymbolSweep` per symbol, where it ran, how long."""

    symbols: tuple[SymbolSweep, ...]
    runner: str
    duration_s: float
    cell_seconds: float = field(default=0.0)
    """Sum of the cells' own compute times (this run only): `cell_seconds / duration_s` is the
    parallel speed-up actually obtained."""

    @property
    def trained(self) -> int:
        """Cells computed by this run."""
        return sum(s.trained for s in self.symbols)

    @property
    def skipped(self) -> int:
        """Cells found already stored (resumed) and not computed again."""
        return sum(s.skipped for s in self.symbols)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: per symbol the key, data, counts and every cell's metrics (NaN → null)."""
        from cvntrade.gate.report import sweep_json

        return sweep_json(self)


def run_sweep(
    engine: Engine,
    request: SweepRequest,
    *,
    runner: CellRunner | None = None,
    tracking_uri: str | None = None,
    store: ParquetStore | None = None,
    settings: Settings | None = None,
    progress: SweepProgress | None = None,
    clock: Clock = utc_now,
) -> SweepReport:
    """Run (or resume) the sweep of every requested symbol; see the module docstring.

    Raises `UserInputError` for bad options or missing market data, `DependencyError` when
    MLflow, the database or the Dask scheduler is unreachable (finished cells stay stored).
    """
    from cvntrade.settings import get_settings

    began = time.perf_counter()
    settings = settings or get_settings()
    runner = runner or make_runner(None, None)
    plan = _plan(engine, request, store or ParquetStore(settings.home / "data"), settings)
    tracker = SweepTracker(tracking_uri or settings.effective_tracking_uri, settings.home)
    done = {s: stored_cells(engine, c.key, s, plan.label) for s, c in plan.configs.items()}
    jobs = [
        _job(config, symbol, cell, plan.strategy)
        for symbol, config in plan.configs.items()
        for cell in plan.cells
        if cell.name not in done[symbol]
    ]
    total = len(plan.configs) * len(plan.cells)
    finished = total - len(jobs)
    trained = dict.fromkeys(plan.configs, 0)
    cell_seconds = 0.0
    parents: dict[str, str] = {}
    try:
        for symbol, config in plan.configs.items():
            parents[symbol] = tracker.start_parent(config)
        if progress is not None:
            progress(f"{finished} cells already stored", finished, total)
        needed = {job.symbol: plan.datasets[job.symbol] for job in jobs}
        for outcome in runner.run(jobs, needed):
            symbol = outcome.job.symbol
            run_id = tracker.log_cell(parents[symbol], plan.configs[symbol], outcome)
            save_cell(engine, outcome, strategy=plan.label, mlflow_run_id=run_id, clock=clock)
            trained[symbol] += 1
            finished += 1
            cell_seconds += outcome.duration_s
            if progress is not None:
                stage = f"{symbol} {outcome.job.cell.name} ({outcome.duration_s:.1f} s)"
                progress(stage, finished, total)
    except BaseException:
        for run_id in parents.values():
            tracker.finish_parent(run_id, failed=True)
        raise
    for run_id in parents.values():
        tracker.finish_parent(run_id)
    swept = tuple(
        SymbolSweep(
            config=config,
            results=load_sweep(engine, symbol, plan.label, config.key),
            trained=trained[symbol],
            skipped=len(done[symbol]),
            mlflow_run_id=parents[symbol],
        )
        for symbol, config in plan.configs.items()
    )
    return SweepReport(swept, runner.description, time.perf_counter() - began, cell_seconds)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A validated request: the strategy, the cells, and each symbol's dataset and config."""

    strategy: Strategy
    cells: tuple[Cell, ...]
    datasets: dict[str, Dataset]
    configs: dict[str, SweepConfig]
    label: str
    """The strategy as stored in sweep_results: its name, plus `_<interval>` unless 1h."""


def _plan(engine: Engine, request: SweepRequest, store: ParquetStore, settings: Settings) -> _Plan:
    """Validate everything and load the data before anything is written or trained."""
    from cvntrade.config import read_config
    from cvntrade.training.api import resolve_calibration

    symbols = _symbols(request.symbols)
    strategy = Strategy.parse(request.strategy)
    if not 1 <= request.folds <= MAX_FOLDS:
        raise UserInputError(f"--folds must be between 1 and {MAX_FOLDS} (got {request.folds})")
    if not request.gammas or not request.alphas:
        raise UserInputError("the sweep needs at least one gamma and one alpha")
    if request.min_trades < 1:
        raise UserInputError(f"min_trades must be >= 1 (got {request.min_trades})")
    cells = sweep_cells(sorted(set(request.gammas)), sorted(set(request.alphas)))
    calibration = resolve_calibration(read_config(engine).env, request.calibration)
    datasets = {s: _dataset(store, s, strategy, request) for s in symbols}
    configs = {s: _config(request, strategy, calibration, datasets[s], settings) for s in symbols}
    return _Plan(strategy, cells, datasets, configs, strategy_label(strategy, request.interval))


def _symbols(symbols: Sequence[str]) -> tuple[str, ...]:
    parsed = [parse_symbol(s.strip()) for s in symbols if s.strip()]
    if not parsed:
        raise UserInputError("--symbols needs at least one symbol, e.g. --symbols BTCUSDC,ETHUSDC")
    return tuple(dict.fromkeys(parsed))


def _dataset(
    store: ParquetStore, symbol: str, strategy: Strategy, request: SweepRequest
) -> Dataset:
    """The symbol's rows, with the walk-forward checked now rather than inside a worker."""
    dataset = load_dataset(
        store,
        symbol,
        strategy,
        interval=request.interval,
        start=as_utc_timestamp(request.start, "--start"),
        end=as_utc_timestamp(request.end, "--end"),
    )
    embargo = _embargo_bars(request, dataset)
    purged_walk_forward(
        as_epoch_ms(dataset.timestamps),
        as_epoch_ms(dataset.label_end),
        n_folds=request.folds,
        scheme=request.scheme,
        embargo_ms=embargo * interval_ms(dataset.interval),
        min_train=MIN_TRAIN_ROWS,
    )
    refuse_degenerate_labels(store, dataset)
    return dataset


def _embargo_bars(request: SweepRequest, dataset: Dataset) -> int:
    if request.embargo_bars is not None and request.embargo_bars < 0:
        raise UserInputError(f"--embargo-bars must be >= 0 (got {request.embargo_bars})")
    return dataset.horizon_bars if request.embargo_bars is None else request.embargo_bars


def _config(
    request: SweepRequest,
    strategy: Strategy,
    calibration: str,
    dataset: Dataset,
    settings: Settings,
) -> SweepConfig:
    """The sweep's config with the data range resolved to explicit bounds.

    `[data_start, data_end)` reproduces exactly these rows: the first row's bar, and the bar
    after the last row's horizon (features only look back, labels only `horizon` bars ahead).
    """
    step = np.timedelta64(interval_ms(dataset.interval), "ms")
    data_end = dataset.timestamps[-1] + (dataset.horizon_bars + 1) * step
    return SweepConfig(
        symbol=dataset.symbol,
        strategy=strategy.name,
        interval=dataset.interval,
        gammas=tuple(sorted({float(g) for g in request.gammas})),
        alphas=tuple(sorted({float(a) for a in request.alphas})),
        folds=request.folds,
        scheme=request.scheme,
        embargo_bars=_embargo_bars(request, dataset),
        min_trades=request.min_trades,
        calibration="temperature_scaling" if calibration == "temperature_scaling" else "none",
        params=params_dict(request.params),
        data_start=iso(dataset.timestamps[0]),
        data_end=iso(data_end),
        dataset_hash=dataset.content_hash,
        n_rows=len(dataset),
        fees_pct=float(settings.fees_pct),
        slippage_pct=float(settings.slippage_pct),
    )


def _job(config: SweepConfig, symbol: str, cell: Cell, strategy: Strategy) -> CellJob:
    return CellJob(
        sweep_key=config.key,
        symbol=symbol,
        cell=cell,
        params=config.booster_params(),
        validation=config.validation(),
        calibrate=config.calibration == "temperature_scaling",
        cost_pct=config.cost_pct,
        break_even=break_even_probability(strategy, config.cost_pct),
    )
