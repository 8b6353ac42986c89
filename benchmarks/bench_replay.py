"""The full engine over 1 year x 5 symbols of 1h bars, per-bar inference, alias propagation.

The timed runs are the production paper engine on stored bars (`run_paper`: trade_journal,
predictions, heartbeats + checkpoints) and, on SQLite, the same bars as a backtest run
(`run_backtest`: backtest tables, no heartbeat).

Prints one JSON line. Models are real XGBoost boosters written as CVNTrade model bundles and
registered in a fresh MLflow sqlite store, loaded by the engine through `load_bundle` exactly as
in production. Baselines measured in the same run:

* replay: features + batch inference alone (no engine loop, no database) -> engine overhead ratio;
* per-bar inference: XGBoost `inplace_predict` on one row -> our `predict_proba` overhead ratio;
  10 000 calls, p50 / p99 / p99.9 / max of wall time and of thread CPU time, the collections
  that ran inside timed calls, a second pass after `gc.freeze()`, and raw `inplace_predict` on
  XGBoost's default thread count (the cause of the former 16 ms p99: see docs/performance.md);
* propagation: the alias poll interval (`CVN_ALIAS_POLL_S`) -> how much faster invalidation is.

Usage: python benchmarks/bench_replay.py [--trials 20] [--skip-postgres] [--latency-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow import MlflowClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from cvntrade.db import create_db_engine, upgrade
from cvntrade.db.tables import predictions
from cvntrade.features import build_dataset, compute_features
from cvntrade.market import ParquetStore, generate_market
from cvntrade.registry import MlflowRegistry, set_alias
from cvntrade.settings import Settings
from cvntrade.strategy import DEFAULT_SYMBOLS, Strategy, model_name
from cvntrade.trading.engine import Costs
from cvntrade.trading.service import EngineSetup, mlflow_loader, run_backtest, run_paper
from cvntrade.training.bundle import ModelBundle, load_bundle, write_bundle

STRATEGY = Strategy.parse("SL0.5_TP1_H4")
TRAIN_START, START, END = dt.datetime(2024, 11, 1), dt.datetime(2025, 1, 1), dt.datetime(2026, 1, 1)
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _prepare(root: Path) -> str:
    """Synthetic market + 2 registered bundles per symbol (v1 binary, v2 focal = champion)."""
    market = generate_market(DEFAULT_SYMBOLS, pd.Timestamp(TRAIN_START), pd.Timestamp(END), seed=11)
    store = ParquetStore(root / "data")
    for symbol, frame in market.frames.items():
        store.write(symbol, "1h", frame, source="synthetic")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for symbol in DEFAULT_SYMBOLS:
        data = build_dataset(
            symbol, STRATEGY, pd.Timestamp(TRAIN_START), pd.Timestamp(START), data_dir=root / "data"
        )
        matrix = xgb.DMatrix(data.features.to_numpy(), label=(data.labels.label == 1))
        name = model_name(symbol, STRATEGY)
        client.create_registered_model(name)
        for loss, depth in (("binary", 3), ("focal", 4)):
            booster = xgb.train(
                {"max_depth": depth, "objective": "binary:logistic", "nthread": 2},
                matrix,
                num_boost_round=60,
            )
            bundle = ModelBundle(
                booster, tuple(data.features.columns), loss, "none", 1.0, 0.4, STRATEGY.name, symbol
            )
            directory = root / "bundles" / f"{name}-{loss}"
            write_bundle(bundle, directory)
            client.create_model_version(name, source=str(directory), tags={"loss_function": loss})
        client.set_registered_model_alias(name, "champion", "2")
    return uri


def _setup(db_url: str, uri: str, engine_id: str, poll_s: float = 2.0) -> EngineSetup:
    db = create_db_engine(db_url)
    upgrade(db)
    return EngineSetup(
        db=db,
        registry=MlflowRegistry(uri),
        loader=mlflow_loader(uri),
        symbols=DEFAULT_SYMBOLS,
        strategy=STRATEGY,
        interval="1h",
        costs=Costs(0.1, 0.02),
        poll_s=poll_s,
        engine_id=engine_id,
    )


def _timed_replay(db_url: str, uri: str, root: Path) -> tuple[float, int, int]:
    setup = _setup(db_url, uri, "bench")
    started = time.perf_counter()
    report = run_paper(setup, data_dir=root / "data", start=START, end=END)
    elapsed = time.perf_counter() - started
    setup.db.dispose()
    return elapsed, report.trades, report.predictions


def _timed_backtest(db_url: str, uri: str, root: Path) -> tuple[float, int]:
    setup = _setup(db_url, uri, "bench-backtest")
    started = time.perf_counter()
    result = run_backtest(setup, data_dir=root / "data", start=START, end=END, actor="bench")
    elapsed = time.perf_counter() - started
    setup.db.dispose()
    return elapsed, result.report.trades


def _baseline(root: Path, uri: str) -> float:
    """Features + batch inference for the same bars, nothing else."""
    store = ParquetStore(root / "data")
    started = time.perf_counter()
    for symbol in DEFAULT_SYMBOLS:
        bundle = load_bundle(uri, model_name(symbol, STRATEGY), 2)
        features = compute_features(
            store.read(
                symbol, "1h", pd.Timestamp(START) - pd.Timedelta(hours=96), pd.Timestamp(END)
            )
        ).to_numpy()
        bundle.predict_proba(features[np.isfinite(features).all(axis=1)])
    return time.perf_counter() - started


LATENCY_SAMPLES = 10_000


class _GcWatch:
    """Counts the garbage collections that start while a timed call runs."""

    def __init__(self) -> None:
        self.started = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started += 1


def _quantiles_ms(values_ns: list[int], prefix: str) -> dict[str, float]:
    """p50, p99, p99.9 and max of nanosecond samples, in milliseconds."""
    array = np.asarray(values_ns, dtype=np.float64) / 1e6
    return {
        f"{prefix}_p50": round(float(np.percentile(array, 50)), 3),
        f"{prefix}_p99": round(float(np.percentile(array, 99)), 3),
        f"{prefix}_p999": round(float(np.percentile(array, 99.9)), 3),
        f"{prefix}_max": round(float(array.max()), 3),
    }


def _latency_pass(
    bundle: ModelBundle, raw: xgb.Booster, rows: np.ndarray, watch: _GcWatch
) -> dict[str, list[int]]:
    """`LATENCY_SAMPLES` per-bar calls of our path and raw `inplace_predict`, interleaved.

    Each of our calls records wall time, this thread's CPU time and whether a garbage
    collection ran inside it: a wall-time tail with a small CPU time is the scheduler (other
    jobs on the cores), a tail that coincides with a collection is the GC.
    """
    predict = bundle.predict_proba
    wall, cpu, gc_hit, raw_wall = [], [], [], []
    for k in range(LATENCY_SAMPLES):
        one = rows[k % rows.shape[0]].reshape(1, -1)
        before_gc = watch.started
        began_cpu = time.thread_time_ns()
        began = time.perf_counter_ns()
        predict(one)
        wall.append(time.perf_counter_ns() - began)
        cpu.append(time.thread_time_ns() - began_cpu)
        gc_hit.append(int(watch.started != before_gc))
        began = time.perf_counter_ns()
        raw.inplace_predict(one, predict_type="margin")
        raw_wall.append(time.perf_counter_ns() - began)
    return {"wall": wall, "cpu": cpu, "gc": gc_hit, "raw": raw_wall}


def _per_bar_latency(root: Path, uri: str) -> dict[str, float | int]:
    """Per-bar inference through the bundle (as the engine serves it), tail explained.

    Nothing but the predict call is inside the timed span (no database, no features). Two
    passes: with the collector as is, then after `gc.freeze()` (start-up objects moved out of
    the collector's reach, what a long-running engine can do after loading its models).
    Baselines: raw `inplace_predict` of the same booster (1 thread), and of a copy left on
    XGBoost's default thread count (what the bench measured before bundles were pinned).
    """
    import gc

    bundle = load_bundle(uri, model_name("BTCUSDC", STRATEGY), 2)
    bars = ParquetStore(root / "data").read("BTCUSDC", "1h")
    rows = compute_features(bars).to_numpy()
    rows = rows[np.isfinite(rows).all(axis=1)][-2000:]
    default_threads = xgb.Booster(model_file=bytearray(bundle.booster.save_raw()))
    watch = _GcWatch()
    gc.callbacks.append(watch)
    try:
        bundle.predict_proba(rows[:10])  # warm-up
        normal = _latency_pass(bundle, bundle.booster, rows, watch)
        gc.freeze()
        frozen = _latency_pass(bundle, default_threads, rows, watch)
        gc.unfreeze()
    finally:
        gc.callbacks.remove(watch)
    wall = np.asarray(normal["wall"])
    no_gc = wall[np.asarray(normal["gc"]) == 0]
    tail = wall >= np.percentile(wall, 99)
    figures: dict[str, float | int] = {
        "inference_samples": LATENCY_SAMPLES,
        **_quantiles_ms(normal["wall"], "inference_ms"),
        **_quantiles_ms(normal["cpu"], "inference_cpu_ms"),
        "inference_samples_with_gc": int(sum(normal["gc"])),
        "inference_tail_samples_with_gc": int(np.asarray(normal["gc"])[tail].sum()),
        "inference_ms_p99_without_gc_samples": round(float(np.percentile(no_gc, 99)) / 1e6, 3),
        **_quantiles_ms(frozen["wall"], "inference_gc_frozen_ms"),
        **_quantiles_ms(normal["raw"], "raw_inplace_predict_ms"),
        **_quantiles_ms(frozen["raw"], "raw_inplace_predict_default_threads_ms"),
    }
    figures["inference_overhead_ratio_p50"] = round(
        figures["inference_ms_p50"] / figures["raw_inplace_predict_ms_p50"], 2
    )
    return figures


def _engine_process(report: Connection, db_url: str, uri: str, data_dir: str) -> None:
    setup = _setup(db_url, uri, "bench-propagation", poll_s=3600.0)
    report.send("ready")
    run_paper(setup, data_dir=Path(data_dir), start=START, end=END, block_bars=1)


def _propagation(root: Path, uri: str, trials: int) -> list[float]:
    """Seconds from `set_alias` (this process) to the engine's first prediction with it."""
    db_url = f"sqlite:///{root / 'propagation.db'}"
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    engine = context.Process(target=_engine_process, args=(send, db_url, uri, str(root / "data")))
    engine.start()
    receive.recv()
    db = create_db_engine(db_url)
    registry = MlflowRegistry(uri)
    name = model_name("BTCUSDC", STRATEGY)
    times = []
    try:
        for trial in range(trials):
            version = 1 if trial % 2 == 0 else 2
            with db.connect() as conn:
                last_id = conn.execute(select(func.max(predictions.c.id))).scalar() or 0
            started = time.perf_counter()
            set_alias(
                db,
                registry,
                name=name,
                alias="champion",
                version=version,
                reason="benchmark",
                actor="bench",
            )
            while True:
                with db.connect() as conn:
                    hit = conn.execute(
                        select(predictions.c.id)
                        .where(
                            predictions.c.id > last_id,
                            predictions.c.model_name == name,
                            predictions.c.model_version == version,
                        )
                        .limit(1)
                    ).first()
                if hit is not None:
                    break
                time.sleep(0.005)
            times.append(time.perf_counter() - started)
    finally:
        engine.kill()
        engine.join()
    return times


def main() -> None:
    """Run all measurements and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--latency-only", action="store_true", help="only the per-bar inference figures"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cvn-bench-replay-") as tmp:
        root = Path(tmp)
        uri = _prepare(root)
        if args.latency_only:
            latency: dict[str, object] = {"benchmark": "replay_inference_latency"}
            latency.update(_per_bar_latency(root, uri))
            print(json.dumps(latency))
            return
        sqlite_s, trades, n_predictions = _timed_replay(
            f"sqlite:///{root / 'replay.db'}", uri, root
        )
        result: dict[str, object] = {
            "benchmark": "replay_engine",
            "symbols": len(DEFAULT_SYMBOLS),
            "bars_per_symbol": n_predictions // len(DEFAULT_SYMBOLS),
            "trades": trades,
            "replay_sqlite_s": round(sqlite_s, 2),
        }
        backtest_s, backtest_trades = _timed_backtest(
            f"sqlite:///{root / 'backtest.db'}", uri, root
        )
        assert backtest_trades == trades, "a backtest trades exactly what the paper engine does"
        result["backtest_sqlite_s"] = round(backtest_s, 2)
        if not args.skip_postgres:
            admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("DROP DATABASE IF EXISTS cvn_bench_replay WITH (FORCE)"))
                conn.execute(text("CREATE DATABASE cvn_bench_replay"))
            pg_url = make_url(PG_SERVER).set(database="cvn_bench_replay")
            pg_s, _, _ = _timed_replay(pg_url.render_as_string(hide_password=False), uri, root)
            with admin.connect() as conn:
                conn.execute(text("DROP DATABASE cvn_bench_replay WITH (FORCE)"))
            result["replay_postgres_s"] = round(pg_s, 2)
        baseline = _baseline(root, uri)
        result["baseline_features_inference_s"] = round(baseline, 2)
        result["engine_overhead_ratio_sqlite"] = round(sqlite_s / baseline, 1)
        result.update(_per_bar_latency(root, uri))
        propagation = _propagation(root, uri, args.trials)
        poll_s = Settings().alias_poll_s
        result.update(
            {
                "propagation_trials": len(propagation),
                "propagation_s_p50": round(statistics.median(propagation), 3),
                "propagation_s_max": round(max(propagation), 3),
                "alias_poll_s": poll_s,
                "propagation_max_over_poll_ratio": round(max(propagation) / poll_s, 3),
                "targets": {"replay_s": 10, "inference_ms_p99": 2, "propagation_s_max": 5},
            }
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
