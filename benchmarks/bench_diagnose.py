"""`cvntrade runbook diagnose` for 5 symbols on 1 M trades and 1 M predictions; one JSON line.

The world (under a temporary CVN_HOME, nothing on the network):

* a journal of `--trades` trades (5 symbols, 2 years, half focal), loaded in bulk with
  `executemany` on SQLite and `COPY` on PostgreSQL, then `ANALYZE`d;
* `--predictions` focal predictions (5 symbols, one per minute back from `now`, i.e. ~139 days
  of a per-minute model for 1 M rows: far more rows per window than a 1h model would log);
* 60 days of synthetic 1h bars per symbol in the Parquet store, and an MLflow sqlite registry
  where each `CVNTrade_XGBoost_{SYMBOL}_SL0.5_TP1_H4` has one focal version whose artifact
  directory holds a `bundle.json` with its monitoring reference and whose tags carry the
  installed objective's fingerprint — everything the real command reads.

Figures (medians of `--repeat` in-process runs, after one warm-up):

* `diagnose_s`: `run_diagnosis` (what the command does after start-up): registry reads, DB
  queries, features/PSI/outcomes, self-check, git log, scoring; `diagnose_cpu_s` is this
  process's CPU for it (on a loaded machine the wall time is several times the CPU time; on
  PostgreSQL the server's own CPU is not in it);
* the split: `implementation_s` (numerical self-check + objective fingerprint + `git log`, each
  timed alone) and `signals_s` = `diagnose_s - implementation_s` (evidence gathering); inside
  the signals, `db_s` = the database reads alone, and `db_split_s_p50` per read: the per-fold
  query, the focal models, the 48 h and the 14 d prediction reads of the 5 symbols;
* `cli_wall_s` / `cli_cpu_s`: wall and CPU (user + sys) time of the real
  `cvntrade runbook diagnose --json` process (Python start-up, imports, MLflow client) — what an
  operator waits for; the target is < 10 s. On a shared 2-core machine the wall time mostly
  measures the other jobs, so `meets_target` uses the CPU time (≈ the wall time when idle);
* `folds_query_unbounded_s`: the per-fold query as the runbook writes it (no lower time bound
  in its `WHERE`), which `runbook diagnose` used before it read only the 14 d windows;
* baselines measured in the same run. The headline is `monitoring_s` (`compute_snapshot`: the
  monitoring loop's signals for the same 5 symbols on the same rows — PSI, sharpness, live ECE,
  the expectancy windows). A diagnosis does that work plus the 14 d outcome relation, the
  baseline PSI blocks, the per-fold query, the self-check and `git log`, so
  `ratio_diagnose_over_monitoring` says how many monitoring recomputations one diagnosis costs,
  a figure that the machine's load does not move. `full_scan_s` (`count(*)` + `sum()` over both
  whole tables, computed in the database) is context: it grows with the tables while the
  diagnosis reads only its windows through indexes (`ratio_db_over_full_scan` stays flat as the
  journal grows; above 1 here because the diagnosis moves ~115 k prediction rows to Python).

Runs on SQLite, and on PostgreSQL (database `cvn_bench_diagnose`, dropped first) when
`CVN_BENCH_DATABASE_URL` is set or the local server answers.

Usage: python benchmarks/bench_diagnose.py [--trades 1000000] [--predictions 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from cvntrade.db import create_db_engine, upgrade
from cvntrade.db.tables import predictions, trade_journal
from cvntrade.features import compute_features
from cvntrade.market import ParquetStore, generate_market, validate_ohlcv
from cvntrade.monitoring.reference import build_reference
from cvntrade.settings import Settings
from cvntrade.strategy import model_name

SERVER_URL = os.environ.get(
    "CVN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATABASE = "cvn_bench_diagnose"
SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")
STRATEGY = "SL0.5_TP1_H4"
NOW = dt.datetime(2026, 6, 1, 12, 0)
TARGET_S = 10.0
TRADE_COLUMNS = (
    "trade_id", "crypto_symbol", "strategy", "model_name", "model_version",
    "model_loss_function", "side", "entry_time", "exit_time", "entry_price", "exit_price",
    "exit_reason", "fees_pct", "realized_pnl_pct", "source",
)  # fmt: skip
PREDICTION_COLUMNS = (
    "crypto_symbol", "strategy", "bar_time", "model_name", "model_version",
    "model_loss_function", "probability", "created_at",
)  # fmt: skip


class Rows:
    """The generated rows as columns (numpy), identical for both backends.

    Trades: symbol index, loss, entry time (epoch s), net PnL %. Predictions: symbol index,
    bar close (epoch s), probability. Everything else is derived in SQL while loading.
    """

    def __init__(self, trades: int, predictions: int) -> None:
        rng = np.random.default_rng(7)
        now = int(NOW.replace(tzinfo=dt.UTC).timestamp())
        self.trade_symbol = np.arange(trades) % len(SYMBOLS)
        self.trade_focal = np.arange(trades) % 2 == 0
        self.entry = now - rng.integers(0, 730 * 86400, trades)
        self.pnl = np.round(rng.normal(0.05, 0.7, trades), 6)
        per_symbol = predictions // len(SYMBOLS)
        minute = now - now % 60
        self.pred_symbol = np.tile(np.arange(len(SYMBOLS)), per_symbol)
        self.bar = np.repeat(minute - 60 * np.arange(per_symbol), len(SYMBOLS))
        self.probability = rng.beta(2.0, 3.0, per_symbol * len(SYMBOLS))

    def trades(self) -> list[tuple[Any, ...]]:
        """(symbol, loss, entry epoch s, pnl) tuples for a staging table."""
        symbols = np.array(SYMBOLS)[self.trade_symbol].tolist()
        losses = np.where(self.trade_focal, "focal", "binary").tolist()
        return list(zip(symbols, losses, self.entry.tolist(), self.pnl.tolist(), strict=True))

    def predictions(self) -> list[tuple[Any, ...]]:
        """(symbol, bar epoch s, probability) tuples for a staging table."""
        symbols = np.array(SYMBOLS)[self.pred_symbol].tolist()
        return list(zip(symbols, self.bar.tolist(), self.probability.tolist(), strict=True))


STAGE_SQL = (
    "CREATE TEMP TABLE stage_trades (sym VARCHAR(20), loss VARCHAR(10), entry BIGINT, "
    "pnl DOUBLE PRECISION)",
    "CREATE TEMP TABLE stage_predictions (sym VARCHAR(20), bar BIGINT, p DOUBLE PRECISION)",
    "CREATE TEMP TABLE stage_names (sym VARCHAR(20), name VARCHAR(120))",
)


def _from_stage(stamp: Callable[[str], str]) -> tuple[str, str]:
    """INSERT … SELECT from the staging tables; `stamp(expr)` turns epoch seconds into the
    backend's stored timestamp."""
    trades = (
        f"INSERT INTO trade_journal ({', '.join(TRADE_COLUMNS)}) "
        "SELECT 'b-' || CAST(row_number() OVER () AS VARCHAR(20)), t.sym, "
        f"'{STRATEGY}', n.name, 1, "
        f"t.loss, 'long', {stamp('entry')}, {stamp('entry + 14400')}, 100, 100, 'horizon', "
        "0.1, pnl, 'import' FROM stage_trades t JOIN stage_names n ON n.sym = t.sym"
    )
    predictions = (
        f"INSERT INTO predictions ({', '.join(PREDICTION_COLUMNS)}) "
        f"SELECT s.sym, '{STRATEGY}', {stamp('bar')}, n.name, 1, 'focal', p, "
        f"{stamp(str(int(NOW.replace(tzinfo=dt.UTC).timestamp())))} "
        "FROM stage_predictions s JOIN stage_names n ON n.sym = s.sym"
    )
    return trades, predictions


def _names() -> list[tuple[str, str]]:
    return [(s, model_name(s, STRATEGY)) for s in SYMBOLS]


def _drop_indexes(conn: Connection) -> None:
    for table in (trade_journal, predictions):
        for index in table.indexes:
            index.drop(conn)


def _create_indexes(conn: Connection) -> None:
    for table in (trade_journal, predictions):
        for index in table.indexes:
            index.create(conn)


def _load_sqlite(engine: Engine, rows: Rows) -> None:
    """executemany into staging tables, then INSERT … SELECT; indexes rebuilt after, ANALYZE."""
    with engine.begin() as conn:
        _drop_indexes(conn)
        for statement in STAGE_SQL:
            conn.exec_driver_sql(statement)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany("INSERT INTO stage_trades VALUES (?, ?, ?, ?)", rows.trades())
        cursor.executemany("INSERT INTO stage_predictions VALUES (?, ?, ?)", rows.predictions())
        cursor.executemany("INSERT INTO stage_names VALUES (?, ?)", _names())
        # SQLAlchemy stores SQLite timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text.
        for statement in _from_stage(lambda e: f"(datetime({e}, 'unixepoch') || '.000000')"):
            conn.exec_driver_sql(statement)
        _create_indexes(conn)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")


def _copy(cursor: Any, table: str, data: list[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} FROM STDIN") as copy:
        for row in data:
            copy.write_row(row)


def _load_postgresql(engine: Engine, rows: Rows) -> None:
    """COPY into staging tables, then INSERT … SELECT; indexes rebuilt after, VACUUM ANALYZE."""
    with engine.begin() as conn:
        _drop_indexes(conn)
        for statement in STAGE_SQL:
            conn.exec_driver_sql(statement)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        _copy(cursor, "stage_trades", rows.trades())
        _copy(cursor, "stage_predictions", rows.predictions())
        _copy(cursor, "stage_names", _names())
        for statement in _from_stage(lambda e: f"(to_timestamp({e}) AT TIME ZONE 'UTC')"):
            conn.exec_driver_sql(statement)
        _create_indexes(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE trade_journal")
        conn.exec_driver_sql("VACUUM ANALYZE predictions")


def _engines(engine: Engine) -> None:
    """Heartbeats of 5 focal engines: the monitoring loop computes drift for served champions."""
    from cvntrade.db.engine import write_transaction
    from cvntrade.trading.persistence import StatusRow, _upsert_status

    rows = [
        StatusRow("bench", s, STRATEGY, model_name(s, STRATEGY), 1, "focal", False, "paper", NOW)
        for s in SYMBOLS
    ]
    with write_transaction(engine) as conn:
        _upsert_status(conn, rows)


def _world(home: Path) -> None:
    """Market bars and the MLflow registry (focal champions with references and fingerprints)."""
    from mlflow import MlflowClient

    from cvntrade.training.fingerprint import FINGERPRINT_TAG, objective_fingerprint

    store = ParquetStore(home / "data")
    end = pd.Timestamp(NOW).floor("h") + pd.Timedelta(hours=1)
    market = generate_market(list(SYMBOLS), end - pd.Timedelta(days=60), end, seed=5)
    uri = f"sqlite:///{home / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    rng = np.random.default_rng(0)
    for symbol, bars in market.frames.items():
        checked = validate_ohlcv(bars, source=f"synthetic {symbol}", interval="1h")
        store.write(symbol, "1h", checked.frame, source="synthetic")
        feats = compute_features(bars)
        old = feats[(bars["timestamp"] < end - pd.Timedelta(days=14)).to_numpy()].dropna()
        reference = build_reference(
            old, rng.beta(2, 3, len(old)), rng.integers(0, 2, len(old)), window=("a", "b")
        )
        artifact = home / "models" / symbol
        artifact.mkdir(parents=True)
        (artifact / "bundle.json").write_text(json.dumps({"monitoring_reference": reference}))
        name = model_name(symbol, STRATEGY)
        client.create_registered_model(name)
        tags = {"loss_function": "focal", FINGERPRINT_TAG: objective_fingerprint()}
        client.create_model_version(name, source=str(artifact), tags=tags)
        client.set_registered_model_alias(name, "champion", "1")


def _median_s(fn: Callable[[], object], repeat: int) -> float:
    return _timed(fn, repeat)[0]


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and median CPU (this process: user + sys) seconds of `repeat` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    return statistics.median(wall), statistics.median(cpu)


def _measure(engine: Engine, url: str, home: Path, repeat: int) -> dict[str, Any]:
    """Every figure of one backend (the world under `home`, the rows in `engine`)."""
    from cvntrade.journal.expectancy import expectancy_folds
    from cvntrade.monitoring.drift import read_predictions
    from cvntrade.monitoring.service import registry_references
    from cvntrade.monitoring.snapshot import compute_snapshot, parquet_bar_loader
    from cvntrade.runbook.diagnose_gather import (
        BASELINE,
        RECENT,
        focal_models,
        git_commits_since,
        repo_root,
        run_diagnosis,
        self_check,
    )
    from cvntrade.training.fingerprint import objective_fingerprint

    settings = Settings(home=home, database_url=url)
    symbols = list(SYMBOLS)

    def diagnose() -> Any:
        return run_diagnosis(engine, settings, now=NOW, symbols=symbols)

    def implementation() -> None:
        objective_fingerprint()
        self_check()
        git_commits_since(repo_root(), NOW - dt.timedelta(days=30))

    db_parts: dict[str, Callable[[], object]] = {
        "folds": lambda: expectancy_folds(engine, clock=lambda: NOW, windows_only=True),
        "focal_models": lambda: focal_models(engine, NOW),
        "predictions_48h": lambda: [
            read_predictions(engine, s, NOW - RECENT, STRATEGY) for s in symbols
        ],
        "predictions_14d": lambda: [
            read_predictions(engine, s, NOW - BASELINE, STRATEGY) for s in symbols
        ],
    }

    def db_reads() -> None:
        for part in db_parts.values():
            part()

    def full_scan() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*), sum(realized_pnl_pct) FROM trade_journal")).one()
            conn.execute(text("SELECT count(*), sum(probability) FROM predictions")).one()

    bars = parquet_bar_loader(home / "data")

    def monitoring() -> Any:
        refs = registry_references(settings.effective_tracking_uri)
        return compute_snapshot(engine, now=NOW, references=refs, bars=bars)

    started = time.perf_counter()
    result = diagnose()  # warm-up: imports MLflow, caches nothing across runs
    cold_s = time.perf_counter() - started
    monitoring()
    diagnose_s, diagnose_cpu_s = _timed(diagnose, repeat)
    implementation_s = _median_s(implementation, repeat)
    db_s = _median_s(db_reads, repeat)
    db_split = {name: round(_median_s(part, repeat), 4) for name, part in db_parts.items()}
    full_scan_s = _median_s(full_scan, repeat)
    monitoring_s, monitoring_cpu_s = _timed(monitoring, repeat)
    folds_unbounded_s = _median_s(lambda: expectancy_folds(engine, clock=lambda: NOW), 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CVN_", "MLFLOW_"))}
    env.update(CVN_HOME=str(home), CVN_DATABASE_URL=url)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    cli = subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", "runbook", "diagnose", "--json",
         "--symbols", ",".join(symbols), "--now", NOW.isoformat()],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    cli_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli_cpu_s = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    if cli.returncode != 0:
        raise SystemExit(f"runbook diagnose failed ({cli.returncode}): {cli.stderr}")
    ranking = json.loads(cli.stdout).get("ranking")
    return {
        "diagnose_s_p50": round(diagnose_s, 3),
        "diagnose_cpu_s_p50": round(diagnose_cpu_s, 3),
        "diagnose_first_run_s": round(cold_s, 3),
        "signals_s": round(diagnose_s - implementation_s, 3),
        "db_s_p50": round(db_s, 3),
        "db_split_s_p50": db_split,
        "implementation_s_p50": round(implementation_s, 3),
        "cli_wall_s": round(cli_s, 3),
        "cli_cpu_s": round(cli_cpu_s, 3),
        "full_scan_s_p50": round(full_scan_s, 3),
        "monitoring_s_p50": round(monitoring_s, 3),
        "monitoring_cpu_s_p50": round(monitoring_cpu_s, 3),
        "folds_query_unbounded_s": round(folds_unbounded_s, 3),
        "ratio_diagnose_over_full_scan": round(diagnose_s / full_scan_s, 2),
        "ratio_db_over_full_scan": round(db_s / full_scan_s, 3),
        "ratio_diagnose_over_monitoring": round(diagnose_s / monitoring_s, 2),
        "ratio_diagnose_over_monitoring_cpu": round(diagnose_cpu_s / monitoring_cpu_s, 2),
        "ranking": list(getattr(result, "ranking", ())),
        "cli_ranking": ranking,
        "meets_target": cli_cpu_s < TARGET_S and diagnose_s < TARGET_S,
    }


def _postgresql_admin() -> Engine | None:
    admin = create_engine(make_url(SERVER_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError:
        admin.dispose()
        if "CVN_BENCH_DATABASE_URL" in os.environ:
            raise
        return None
    return admin


def main() -> None:
    """Build the rows once, measure each backend, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--predictions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true", help="Skip PostgreSQL.")
    args = parser.parse_args()

    started = time.perf_counter()
    rows = Rows(args.trades, args.predictions)
    generate_s = time.perf_counter() - started
    backends: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cvn-bench-diagnose-") as tmp:
        home = Path(tmp)
        _world(home)
        url = f"sqlite:///{home / 'cvntrade.db'}"
        engine = create_db_engine(url)
        upgrade(engine)
        _engines(engine)
        started = time.perf_counter()
        _load_sqlite(engine, rows)
        load_s = time.perf_counter() - started
        backends["sqlite"] = {"load_executemany_s": round(load_s, 1)}
        backends["sqlite"].update(_measure(engine, url, home, args.repeat))
        engine.dispose()

        admin = None if args.sqlite_only else _postgresql_admin()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
                conn.execute(text(f"CREATE DATABASE {DATABASE}"))
            url = make_url(SERVER_URL).set(database=DATABASE).render_as_string(False)
            engine = create_db_engine(url)
            upgrade(engine)
            _engines(engine)
            started = time.perf_counter()
            _load_postgresql(engine, rows)
            load_s = time.perf_counter() - started
            backends["postgresql"] = {"load_copy_s": round(load_s, 1)}
            backends["postgresql"].update(_measure(engine, url, home, args.repeat))
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            admin.dispose()

    print(
        json.dumps(
            {
                "benchmark": "diagnose",
                "trades": args.trades,
                "predictions": args.predictions,
                "symbols": len(SYMBOLS),
                "generate_rows_s": round(generate_s, 1),
                "target_s": TARGET_S,
                "backends": backends,
                "meets_target": all(b["meets_target"] for b in backends.values()),
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
