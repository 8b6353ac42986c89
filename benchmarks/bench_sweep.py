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

Registry round-trips, in-process, on the sqlite store, after one warm-up call:
`cvntrade.registry.set_alias` (audited, alternating between two versions so each call moves the
alias) and `cvntrade.registry.list_versions` (5 newest), `--trials` times each; medians and
maxima in milliseconds (target < 150 ms each).

Usage: ``.venv/bin/python benchmarks/bench_sweep.py [--rounds 100 --trials 20]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")
STRATEGY = "SL0.5_TP1_H4"
GAMMAS = (0.5, 1.0, 2.0)
ALPHAS = (0.25, 0.5, 0.75)
FOLDS = 5
TARGET_SWEEP_S = 180.0
TARGET_REGISTRY_MS = 150.0


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


def run_once(root: Path, data: Path, workers: int, rounds: int) -> tuple[float, dict[str, Any]]:
    """One sweep from scratch with `workers`; returns the wall time and the stored metrics."""
    from cvntrade.db import create_db_engine, upgrade
    from cvntrade.gate import SweepRequest, make_runner, run_sweep
    from cvntrade.market import ParquetStore
    from cvntrade.settings import Settings
    from cvntrade.training.booster import BoosterParams

    home = root / f"home-{workers}"
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
    began = time.perf_counter()
    report = run_sweep(
        engine,
        request,
        runner=make_runner(workers, None),
        tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        store=ParquetStore(data),
        settings=Settings(home=home),
    )
    wall = time.perf_counter() - began
    engine.dispose()
    metrics = {
        (s.config.symbol, c.cell.name): json.dumps(
            [dict(c.overall), *map(dict, c.folds)], sort_keys=True
        )
        for s in report.symbols
        for c in s.results.cells
    }
    assert report.trained == len(SYMBOLS) * (1 + len(GAMMAS) * len(ALPHAS)), report.trained
    return wall, {"metrics": metrics, "rows": report.symbols[0].config.n_rows}


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
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cvn-bench-sweep-") as tmp:
        root = Path(tmp)
        data = root / "data"
        write_market(data)
        wall_1, one = run_once(root, data, 1, args.rounds)
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
