"""Benchmark the FTF sweep (1 worker vs 2) and the registry round-trips; prints one JSON line.

Setup (all under a temporary directory, nothing on the network): 5 symbols x 2 years of 1h
synthetic bars (about 17 400 labelled rows each), a migrated SQLite database and an MLflow sqlite
store per run. The sweep is 9 focal (gamma, alpha) cells (gammas 0.5, 1, 2 x alphas 0.25, 0.5,
0.75) plus the binary baseline, 5 purged walk-forward folds each: 50 cells, 250 boosters. It runs
twice from scratch, with `--workers 1` (in-process) and `--workers 2` (process pool, forkserver),
everything included (datasets, MLflow parent and child runs, `sweep_results` rows):

* `wall_1_worker_s`, `wall_2_workers_s`: wall times; `speedup` = 1-worker / 2-worker wall time;
* `sweep_total_s`: both sweeps (target < 180 s on the 2-core machine);
* `identical_results`: the two runs stored the same metrics for every cell and fold.

Boosting parameters: 100 rounds at learning rate 0.1 (instead of training's 200 at 0.05: the
same total step, half the trees), depth 4, one XGBoost thread per cell.

Threshold search before/after (issue 15): the walk-forward's threshold search
(`choose_threshold` and `simulate_trades`) is a numba kernel; the former pure-Python version is
kept as the test reference (tests/unit/training/threshold_reference.py). A third sweep, 1 worker,
runs with that reference patched in (`wall_1_worker_python_threshold_s`, the "before"), and
`sweep_speedup_from_kernel` = before / after (1-worker) wall time, both measured in this run.
`threshold_search_*`: one search on a 17 445-row fold (synthetic probabilities, H4 holds), the
median of 7 interleaved (Python, kernel) pairs of the per-pair ratio, wall and process CPU.
`--before-pairs N` runs N interleaved (Python, kernel) pairs (order alternating) and reports the
median per-pair ratio of wall and of process CPU time; `--no-before` skips them; `--quick`
keeps one symbol and skips the 2-worker sweep.

Registry round-trips, in-process, on the sqlite store, after one warm-up call:
`cvntrade.registry.set_alias` (audited, alternating between two versions so each call moves the
alias) and `cvntrade.registry.list_versions` (5 newest), `--trials` times each; medians and
maxima in milliseconds (target < 150 ms each).

Usage: ``.venv/bin/python benchmarks/bench_sweep.py [--rounds 100 --trials 20]``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

SYMBOLS: tuple[str, ...] = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")
STRATEGY = "SL0.5_TP1_H4"
GAMMAS = (0.5, 1.0, 2.0)
ALPHAS = (0.25, 0.5, 0.75)
FOLDS = 5
TARGET_SWEEP_S = 180.0
TARGET_REGISTRY_MS = 150.0


ROOT = Path(__file__).resolve().parents[1]


def _reference_module() -> ModuleType:
    """tests/unit/training/threshold_reference.py: the pre-kernel Python threshold search."""
    path = ROOT / "tests" / "unit" / "training" / "threshold_reference.py"
    spec = importlib.util.spec_from_file_location("threshold_reference", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def python_threshold_search() -> Iterator[None]:
    """Patch the walk-forward to use the former Python threshold search (the "before")."""
    from cvntrade.training import evaluation

    reference = _reference_module()
    names = ("choose_threshold", "simulate_trades")
    saved = {name: getattr(evaluation, name) for name in names}
    for name in names:
        setattr(evaluation, name, getattr(reference, f"reference_{name}"))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(evaluation, name, value)


def _timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and process CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def threshold_search_figures(rows: int = 17_445, pairs: int = 7) -> dict[str, Any]:
    """One threshold search, Python reference vs kernel: medians of interleaved pair ratios."""
    import numpy as np

    from cvntrade.training.simulation import TradeOutcomes, choose_threshold

    reference = _reference_module().reference_choose_threshold
    rng = np.random.default_rng(11)
    hour = 3_600_000
    closes = np.arange(1, rows + 1, dtype=np.int64) * hour
    outcomes = TradeOutcomes(
        closes,
        closes + rng.integers(1, 5, rows) * hour,
        rng.choice([-0.5, 1.0, 0.3, -0.2], rows).astype(np.float64),
        0.12,
    )
    probs = rng.beta(2.0, 3.0, rows)
    fast = choose_threshold(probs, outcomes, break_even=0.4133)  # warm-up: compile / cache
    assert fast == reference(probs, outcomes, break_even=0.4133), "kernel != reference"
    wall_ratios, cpu_ratios, kernel_walls, python_walls = [], [], [], []
    for pair in range(pairs):
        calls = [
            lambda: reference(probs, outcomes, break_even=0.4133),
            lambda: choose_threshold(probs, outcomes, break_even=0.4133),
        ]
        if pair % 2:
            kernel = _timed(calls[1])
            python = _timed(calls[0])
        else:
            python = _timed(calls[0])
            kernel = _timed(calls[1])
        wall_ratios.append(python[0] / kernel[0])
        cpu_ratios.append(python[1] / max(kernel[1], 1e-6))
        kernel_walls.append(kernel[0])
        python_walls.append(python[0])
    return {
        "threshold_search_rows": rows,
        "threshold_search_python_ms": round(statistics.median(python_walls) * 1e3, 2),
        "threshold_search_kernel_ms": round(statistics.median(kernel_walls) * 1e3, 3),
        "threshold_search_speedup_wall": round(statistics.median(wall_ratios), 1),
        "threshold_search_speedup_cpu": round(statistics.median(cpu_ratios), 1),
    }


def write_market(root: Path) -> None:
    """Two years of 1h bars for every symbol, stored like `cvntrade data synth`."""
    import pandas as pd

    from cvntrade.market import ParquetStore, generate_market, validate_ohlcv

    store = ParquetStore(root)
    market = generate_market(
        SYMBOLS, pd.Timestamp("2024-01-01"), pd.Timestamp("2026-01-01"), seed=7
    )
    for symbol, frame in market.frames.items():
        checked = validate_ohlcv(frame, source=f"synthetic {symbol}", interval="1h")
        store.write(symbol, "1h", checked.frame, source="synthetic")


def run_once(
    root: Path, data: Path, workers: int, rounds: int, label: str = ""
) -> tuple[float, dict[str, Any]]:
    """One sweep from scratch with `workers`; returns the wall time and the stored metrics."""
    from cvntrade.db import create_db_engine, upgrade
    from cvntrade.gate import SweepRequest, make_runner, run_sweep
    from cvntrade.market import ParquetStore
    from cvntrade.settings import Settings
    from cvntrade.training.booster import BoosterParams

    home = root / f"home-{workers}{label}"
    engine = create_db_engine(f"sqlite:///{home / 'cvntrade.db'}")
    upgrade(engine)
    request = SweepRequest(
        symbols=SYMBOLS,
        gammas=GAMMAS,
        alphas=ALPHAS,
        strategy=STRATEGY,
        folds=FOLDS,
        params=BoosterParams(rounds=rounds, learning_rate=0.1, nthread=1),
    )
    began, began_cpu = time.perf_counter(), time.process_time()
    report = run_sweep(
        engine,
        request,
        runner=make_runner(workers, None),
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        store=ParquetStore(data),
        settings=Settings(home=home),
    )
    wall = time.perf_counter() - began
    cpu = time.process_time() - began_cpu  # in-process runs only (1 worker)
    engine.dispose()
    metrics = {
        (s.config.symbol, c.cell.name): json.dumps(
            [dict(c.overall), *map(dict, c.folds)], sort_keys=True
        )
        for s in report.symbols
        for c in s.results.cells
    }
    assert report.trained == len(SYMBOLS) * (1 + len(GAMMAS) * len(ALPHAS)), report.trained
    return wall, {"metrics": metrics, "rows": report.symbols[0].config.n_rows, "cpu": cpu}


def registry_round_trips(root: Path, trials: int) -> dict[str, float]:
    """Median and max ms of audited `set_alias` and of `list_versions` on a sqlite store."""
    from mlflow import MlflowClient

    from cvntrade.db import create_db_engine, upgrade
    from cvntrade.registry import MlflowRegistry, list_versions, set_alias

    uri = f"sqlite:///{root / 'registry' / 'mlflow.db'}"
    (root / "registry").mkdir()
    engine = create_db_engine(f"sqlite:///{root / 'registry' / 'cvntrade.db'}")
    upgrade(engine)
    name = "CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(name)
    for loss in ("binary", "focal"):
        client.create_model_version(name, source=str(root), tags={"loss_function": loss})
    registry = MlflowRegistry(uri)

    def move(version: int) -> float:
        began = time.perf_counter()
        set_alias(
            engine,
            registry,
            name=name,
            alias="champion",
            version=version,
            reason="bench",
            actor="bench",
        )
        return (time.perf_counter() - began) * 1000

    def listing() -> float:
        began = time.perf_counter()
        list_versions(registry, name, 5)
        return (time.perf_counter() - began) * 1000

    move(1), listing()  # warm-up: MLflow client and store start-up
    moves = [move(2 if k % 2 == 0 else 1) for k in range(trials)]
    listings = [listing() for _ in range(trials)]
    engine.dispose()
    return {
        "set_alias_ms_median": round(statistics.median(moves), 1),
        "set_alias_ms_max": round(max(moves), 1),
        "list_versions_ms_median": round(statistics.median(listings), 1),
        "list_versions_ms_max": round(max(listings), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--no-before", action="store_true", help="skip the Python-search sweep")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="first symbol only, no 2-worker sweep: the before/after of the kernel alone",
    )
    parser.add_argument(
        "--before-pairs", type=int, default=1, help="(Python, kernel) sweep pairs, >= 1"
    )
    args = parser.parse_args()
    global SYMBOLS
    if args.quick:
        SYMBOLS = SYMBOLS[:1]
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cvn-bench-sweep-") as tmp:
        root = Path(tmp)
        data = root / "data"
        write_market(data)
        search = threshold_search_figures()
        wall_1, one = run_once(root, data, 1, args.rounds)
        before: dict[str, Any] = {}
        if not args.no_before:
            # Interleaved (kernel, Python) pairs, order alternating (K P, P K, K P, ...); the
            # first kernel sweep above is pair 0's kernel half.
            kernel_runs, python_runs, same = [(wall_1, one["cpu"])], [], True
            for pair in range(args.before_pairs):
                if pair % 2 == 0 and pair:  # kernel first on even pairs (pair 0: done above)
                    wall, new = run_once(root, data, 1, args.rounds, label=f"-k{pair}")
                    kernel_runs.append((wall, new["cpu"]))
                with python_threshold_search():
                    wall, old = run_once(root, data, 1, args.rounds, label=f"-py{pair}")
                python_runs.append((wall, old["cpu"]))
                if pair % 2 == 1:  # Python first on odd pairs
                    wall, new = run_once(root, data, 1, args.rounds, label=f"-k{pair}")
                    kernel_runs.append((wall, new["cpu"]))
                same = same and old["metrics"] == one["metrics"]
            pairs = list(zip(python_runs, kernel_runs, strict=True))
            before = {
                "wall_1_worker_python_threshold_s": [round(p[0], 1) for p, _ in pairs],
                "wall_1_worker_kernel_s": [round(k[0], 1) for _, k in pairs],
                "sweep_speedup_from_kernel": round(
                    statistics.median(p[0] / k[0] for p, k in pairs), 2
                ),
                "sweep_speedup_from_kernel_cpu": round(
                    statistics.median(p[1] / k[1] for p, k in pairs), 2
                ),
                "sweep_speedup_per_pair_wall": [round(p[0] / k[0], 2) for p, k in pairs],
                "identical_results_python_vs_kernel": same,
            }
        if args.quick:
            print(
                json.dumps(
                    {
                        "benchmark": "sweep_quick",
                        "symbols": len(SYMBOLS),
                        "rows_per_symbol": one["rows"],
                        "rounds": args.rounds,
                        "wall_1_worker_s": round(wall_1, 1),
                        **before,
                        **search,
                        "load_avg_1m": round(os.getloadavg()[0], 2),
                    }
                )
            )
            return
        wall_2, two = run_once(root, data, 2, args.rounds)
        registry = registry_round_trips(root, args.trials)
    total = wall_1 + wall_2
    print(
        json.dumps(
            {
                "benchmark": "sweep",
                "symbols": len(SYMBOLS),
                "cells_per_symbol": 1 + len(GAMMAS) * len(ALPHAS),
                "folds": FOLDS,
                "rows_per_symbol": one["rows"],
                "rounds": args.rounds,
                "learning_rate": 0.1,
                "wall_1_worker_s": round(wall_1, 1),
                "wall_2_workers_s": round(wall_2, 1),
                "speedup": round(wall_1 / wall_2, 2),
                "sweep_total_s": round(total, 1),
                "target_sweep_total_s": TARGET_SWEEP_S,
                "sweep_within_target": total < TARGET_SWEEP_S,
                "identical_results": one["metrics"] == two["metrics"],
                **before,
                **search,
                **registry,
                "target_registry_ms": TARGET_REGISTRY_MS,
                "registry_within_target": max(
                    registry["set_alias_ms_max"], registry["list_versions_ms_max"]
                )
                < TARGET_REGISTRY_MS,
                "bench_wall_s": round(time.perf_counter() - began, 1),
                "cpus": len(os.sched_getaffinity(0)),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
