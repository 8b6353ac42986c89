"""Runbook step-1 query on a 10 M-row trade_journal in PostgreSQL, with and without our indexes.

Prints one JSON line. Rows are generated with numpy and loaded with `COPY` into a dedicated
database (`cvn_bench_journal`, dropped first) on the server of `CVN_BENCH_DATABASE_URL`
(default: the local PostgreSQL). Timings are medians over warm-cache repetitions; the ratio
compares the same query after dropping our two journal indexes, in the same run.

Usage: python benchmarks/bench_journal.py [--rows 10000000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cvntrade.db import create_db_engine, upgrade
from cvntrade.journal import expectancy_by_symbol, expectancy_folds
from cvntrade.journal.runbook_sql import DIAGNOSIS_FOLDS_SQL, STEP1_CONFIRM_SQL

SERVER_URL = os.environ.get(
    "CVN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATABASE = "cvn_bench_journal"
SYMBOLS = [
    f"{base}USDC"
    for base in (
        "BTC",
        "ETH",
        "SOL",
        "XRP",
        "ADA",
        "DOGE",
        "AVAX",
        "LINK",
        "DOT",
        "LTC",
        "BNB",
        "TRX",
        "TON",
        "SHIB",
        "NEAR",
        "APT",
        "ARB",
        "OP",
        "SUI",
        "PEPE",
    )
]
HISTORY_DAYS = 730
CHUNK = 500_000
COLUMNS = (
    "trade_id, crypto_symbol, strategy, model_name, model_version, model_loss_function, side, "
    "entry_time, exit_time, entry_price, exit_price, exit_reason, fees_pct, realized_pnl_pct, "
    "probability, source"
)
INDEXES = {
    "ix_trade_journal_loss_entry": "CREATE INDEX ix_trade_journal_loss_entry ON "
    "trade_journal_rows (model_loss_function, entry_time) "
    "INCLUDE (crypto_symbol, realized_pnl_pct, import_batch_id)",
    "ix_trade_journal_symbol_entry": "CREATE INDEX ix_trade_journal_symbol_entry ON "
    "trade_journal_rows (crypto_symbol, entry_time)",
}


def _chunk_csv(start: int, n: int, now: dt.datetime, rng: np.random.Generator) -> bytes:
    ids = np.arange(start, start + n)
    symbols = np.array(SYMBOLS)[rng.integers(0, len(SYMBOLS), n)]
    age_s = rng.uniform(0, HISTORY_DAYS * 86400, n)
    entry = np.datetime64(now) - (age_s * 1e6).astype("timedelta64[us]")
    exit_ = entry + rng.integers(1, 4 * 3600, n).astype("timedelta64[s]")
    loss = np.where(rng.random(n) < 0.5, "focal", "binary")
    pnl = np.round(rng.normal(0.05, 0.7, n), 6)
    price = np.round(rng.uniform(0.1, 90_000, n), 6)
    exit_price = np.round(price * (1 + pnl / 100), 6)
    reason = np.array(["take_profit", "stop_loss", "horizon"])[rng.integers(0, 3, n)]
    prob = np.round(rng.uniform(0.5, 1.0, n), 4)
    lines = [
        f"bench-{i},{s},SL0.5_TP1_H4,CVNTrade_XGBoost_{s}_SL0.5_TP1_H4,7,{lf},long,{e},{x},"
        f"{p},{xp},{r},0.1,{v},{pr},import\n"
        for i, s, lf, e, x, p, xp, r, v, pr in zip(
            ids,
            symbols,
            loss,
            entry.astype(str),
            exit_.astype(str),
            price,
            exit_price,
            reason,
            pnl,
            prob,
            strict=True,
        )
    ]
    return "".join(lines).encode()


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm the cache
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    """Load the journal, time the runbook queries with and without indexes, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    server = make_url(SERVER_URL)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    url = server.set(database=DATABASE)
    engine = create_db_engine(url.render_as_string(hide_password=False))
    upgrade(engine)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rng = np.random.default_rng(2026)
    started = time.perf_counter()
    with psycopg.connect(libpq) as conn:
        for name in INDEXES:  # load first, index after: how a bulk load should be done
            conn.execute(f"DROP INDEX {name}")
        with conn.cursor().copy(
            f"COPY trade_journal_rows ({COLUMNS}) FROM STDIN WITH (FORMAT csv)"
        ) as copy:
            for start in range(0, args.rows, CHUNK):
                copy.write(_chunk_csv(start, min(CHUNK, args.rows - start), now, rng))
        conn.commit()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    with psycopg.connect(libpq, autocommit=True) as conn:
        for ddl in INDEXES.values():
            conn.execute(ddl)
        conn.execute("VACUUM ANALYZE trade_journal_rows")
    index_s = time.perf_counter() - started

    with psycopg.connect(libpq, autocommit=True) as conn:
        step1_ms = _median_ms(lambda: conn.execute(STEP1_CONFIRM_SQL).fetchall(), args.repeat)
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + STEP1_CONFIRM_SQL).fetchall())
        folds_ms = _median_ms(lambda: conn.execute(DIAGNOSIS_FOLDS_SQL).fetchall(), 3)
        window = dt.timedelta(hours=48)
        ours_ms = _median_ms(lambda: expectancy_by_symbol(engine, window=window), args.repeat)
        ours_folds_ms = _median_ms(lambda: expectancy_folds(engine), 3)
        for name in INDEXES:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("ANALYZE trade_journal_rows")
        step1_noindex_ms = _median_ms(lambda: conn.execute(STEP1_CONFIRM_SQL).fetchall(), 5)
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
    admin.dispose()

    print(
        json.dumps(
            {
                "benchmark": "journal_runbook_queries",
                "rows": args.rows,
                "load_copy_s": round(load_s, 1),
                "index_build_s": round(index_s, 1),
                "step1_sql_ms_p50": round(step1_ms, 2),
                "step1_cvntrade_expectancy_ms_p50": round(ours_ms, 2),
                "step1_sql_no_index_ms_p50": round(step1_noindex_ms, 2),
                "ratio_no_index_over_indexed": round(step1_noindex_ms / step1_ms, 1),
                "folds_sql_ms_p50": round(folds_ms, 1),
                "folds_cvntrade_ms_p50": round(ours_folds_ms, 1),
                "step1_index_only_scan": "Index Only Scan" in plan,
                "target_step1_ms": 50,
                "meets_target": step1_ms < 50,
            }
        )
    )


if __name__ == "__main__":
    main()
