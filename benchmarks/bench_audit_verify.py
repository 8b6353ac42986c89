"""`cvntrade audit verify` over 100 k audit rows, against a plain scan of the same rows.

Prints one JSON line per backend (SQLite; PostgreSQL unless --skip-postgres). Setup inserts the
rows in bulk and chains them with `rechain` (what migration 0008 does to an existing log; its
time is reported as `backfill_s`). Then, in the same run:

* `verify_s`: `verify_chains` (keyset pages, canonical form and SHA-256 per row, one snapshot);
* `scan_s`: the baseline, the same keyset-paged SELECT of the same columns without hashing;
* `*_cpu_s`: this process's CPU time for both (steadier than wall time on a busy machine; the
  PostgreSQL server's own CPU is not in it);
* `verify_peak_mib`: tracemalloc peak during a second verify (flat: rows are paged, not held);
* `append_ms` vs `plain_insert_ms`: one audited write (`write_audit`, chained) in its own write
  transaction against a plain INSERT of the same row, averaged over --appends writes.

Usage: python benchmarks/bench_audit_verify.py [--rows 100000] [--appends 500] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.db import create_db_engine, upgrade, write_transaction
from cvntrade.db.chain import AUDIT_LOG_HASHED
from cvntrade.db.chain_rebuild import rechain
from cvntrade.db.tables import audit_log
from cvntrade.db.verify import PAGE_ROWS, verify_chains

PG_SERVER = os.environ.get(
    "CVN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATABASE = "cvn_bench_audit"
T0 = dt.datetime(2026, 1, 1)


def _row(i: int) -> dict[str, Any]:
    """A realistic audit row (a config change: two small JSON snapshots, a reason)."""
    return {
        "at": T0 + dt.timedelta(seconds=i, microseconds=i % 1000),
        "actor": f"operator{i % 17}",
        "action": "config.set",
        "target": "ftf_config",
        "before": {"version": i, "CVN_FOCAL_GAMMA": f"{i % 5}.0", "CVN_FOCAL_ALPHA": 0.25},
        "after": {"version": i + 1, "CVN_FOCAL_GAMMA": f"{i % 7}.5", "CVN_FOCAL_ALPHA": 0.5},
        "reason": f"tuning focal gamma after sweep {i} (ticket OPS-{i % 991})",
    }


def _fill(engine: Engine, rows: int) -> float:
    with engine.begin() as conn:
        for start in range(0, rows, 10_000):
            conn.execute(
                insert(audit_log), [_row(i) for i in range(start, min(rows, start + 10_000))]
            )
    started = time.perf_counter()
    with engine.begin() as conn:
        rechain(conn, "audit_log")
    return time.perf_counter() - started


def _scan(engine: Engine) -> tuple[float, float, int]:
    """The baseline: the same keyset-paged read as verify, without canonical form or hashing.

    Returns wall seconds, this process's CPU seconds and the rows read."""
    columns = [audit_log.c[c] for c in AUDIT_LOG_HASHED]
    query = select(audit_log.c.id, *columns, audit_log.c.prev_hash, audit_log.c.row_hash)
    started, cpu, count, last = time.perf_counter(), time.process_time(), 0, None
    with engine.connect() as conn, conn.begin():
        while True:
            page = query if last is None else query.where(audit_log.c.id > last)
            rows = conn.execute(page.order_by(audit_log.c.id).limit(PAGE_ROWS)).mappings().all()
            if not rows:
                break
            count += len(rows)
            last = rows[-1]["id"]
    return time.perf_counter() - started, time.process_time() - cpu, count


def _appends(engine: Engine, n: int) -> tuple[float, float]:
    entry = _row(0)
    started = time.perf_counter()
    for _ in range(n):
        with write_transaction(engine) as conn:
            write_audit(conn, AuditEntry(**entry))
    chained = (time.perf_counter() - started) / n
    started = time.perf_counter()
    for _ in range(n):
        with write_transaction(engine) as conn:
            conn.execute(insert(audit_log).values(**entry))
    return chained * 1000, (time.perf_counter() - started) / n * 1000


def measure(url: str, backend: str, rows: int, appends: int) -> dict[str, Any]:
    """Every figure for one database at `url` (fresh, migrated here)."""
    engine = create_db_engine(url)
    try:
        upgrade(engine)
        backfill_s = _fill(engine, rows)
        _scan(engine)  # warm the cache for both measurements alike
        scan_s, scan_cpu_s, scanned = _scan(engine)
        cpu = time.process_time()
        report = verify_chains(engine)
        verify_cpu_s = time.process_time() - cpu
        assert report.intact and report.chains[0].rows == scanned == rows, report
        tracemalloc.start()
        verify_chains(engine)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        append_ms, plain_ms = _appends(engine, appends)
    finally:
        engine.dispose()
    return {
        "benchmark": "audit_verify",
        "backend": backend,
        "rows": rows,
        "verify_s": round(report.seconds, 3),
        "scan_s": round(scan_s, 3),
        "verify_vs_scan_ratio": round(report.seconds / scan_s, 2),
        "verify_cpu_s": round(verify_cpu_s, 3),
        "scan_cpu_s": round(scan_cpu_s, 3),
        "verify_vs_scan_cpu_ratio": round(verify_cpu_s / scan_cpu_s, 2),
        "verify_rows_per_s": round(rows / report.seconds),
        "verify_peak_mib": round(peak / 2**20, 1),
        "backfill_s": round(backfill_s, 3),
        "append_ms": round(append_ms, 3),
        "plain_insert_ms": round(plain_ms, 3),
        "append_vs_plain_ratio": round(append_ms / plain_ms, 2),
    }


def main() -> None:
    """Measure on SQLite, then on PostgreSQL (a scratch database on CVN_BENCH_DATABASE_URL)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'audit.db'}"
        print(json.dumps(measure(url, "sqlite", args.rows, args.appends)))
    if args.skip_postgres:
        return
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    try:
        url = make_url(PG_SERVER).set(database=DATABASE).render_as_string(hide_password=False)
        print(json.dumps(measure(url, "postgresql", args.rows, args.appends)))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    main()
