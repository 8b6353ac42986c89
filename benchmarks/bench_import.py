"""`cvntrade journal import` of a 1 M-row CSV: peak memory, wall time, writer wait.

Prints one JSON line. The same generated file is imported twice into fresh databases (SQLite by
default, PostgreSQL with `--backend postgresql`), each in its own `cvntrade` process: once by the
code of a baseline git revision (`--baseline-ref`, extracted with `git archive`; its own
migrations create its database) and once by this checkout. The peak resident memory of each
import process comes from `os.wait4`; while it runs, this process keeps calling `set_config`
(what `cvntrade config set` does) and records the longest call, i.e. how long a concurrent
operator change waits for the journal's write lock.

Usage: python benchmarks/bench_import.py [--rows 1000000] [--baseline-ref 529a7b6]
       [--skip-baseline] [--backend sqlite|postgresql]
(PostgreSQL server: CVN_BENCH_DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cvntrade.config import set_config
from cvntrade.db import create_db_engine
from cvntrade.errors import DependencyError

ROOT = Path(__file__).resolve().parents[1]
SERVER_URL = os.environ.get(
    "CVN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def write_trades(path: Path, rows: int) -> None:
    """A valid trade file of `rows` rows (vectorised: generating it is not what we measure)."""
    rng = np.random.default_rng(7)
    entry = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 600 * 86_400, rows), "s")
    exit_ = entry + pd.to_timedelta(rng.integers(60, 86_400, rows), "s")
    symbols = np.array(["BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC"])
    frame = pd.DataFrame(
        {
            "trade_id": [f"bench-{i:08d}" for i in range(rows)],
            "crypto_symbol": symbols[rng.integers(0, len(symbols), rows)],
            "strategy": "SL2_TP4_H24",
            "model_name": "crypto_xgb_btcusdc",
            "model_version": rng.integers(1, 9, rows),
            "model_loss_function": np.where(rng.random(rows) < 0.5, "binary", "focal"),
            "entry_time": entry.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "exit_time": exit_.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "entry_price": np.round(rng.uniform(10, 90_000, rows), 4),
            "exit_price": np.round(rng.uniform(10, 90_000, rows), 4),
            "exit_reason": np.where(rng.random(rows) < 0.5, "take_profit", "stop_loss"),
            "fees_pct": 0.1,
            "realized_pnl_pct": np.round(rng.normal(0.1, 2.0, rows), 4),
        }
    )
    frame.to_csv(path, index=False)


def baseline_source(ref: str, into: Path) -> Path:
    """The `src/` tree of git revision `ref`, extracted under `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def fresh_database(backend: str, workdir: Path) -> str:
    """The URL of a new, empty database for one measured import."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'cvntrade.db'}"
    server = make_url(SERVER_URL)
    name = f"cvn_bench_import_{workdir.name}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database made by `fresh_database` (a SQLite file goes with its dir)."""
    if url.startswith("postgresql"):
        admin = create_engine(make_url(SERVER_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)"))
        admin.dispose()


def measure(source: Path, csv: Path, workdir: Path, backend: str) -> dict[str, float | int]:
    """Import `csv` with the code under `source` while config changes keep arriving."""
    url = fresh_database(backend, workdir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    env.update(
        PYTHONPATH=str(source), CVN_HOME=str(workdir), CVN_DATABASE_URL=url, CVN_ACTOR="bench"
    )
    command = [sys.executable, "-m", "cvntrade.cli.main"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    engine = create_db_engine(url)
    start = time.perf_counter()
    child = subprocess.Popen(
        [*command, "journal", "import", str(csv)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    waits: list[float] = []
    failures = 0
    status, rusage = 0, None
    while True:
        pid, status, rusage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        gamma = f"{1.0 + len(waits) % 2:.1f}"
        began = time.perf_counter()
        try:
            set_config(engine, {"CVN_FOCAL_GAMMA": gamma}, reason="bench", actor="bench")
        except DependencyError:  # waited the whole busy timeout and gave up (exit 4)
            failures += 1
        waits.append(time.perf_counter() - began)
    wall = time.perf_counter() - start
    engine.dispose()
    drop_database(url)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed: {child.stderr.read().decode() if child.stderr else ''}")
    return {
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(rusage.ru_maxrss / 1024),
        "config_sets": len(waits),
        "longest_config_wait_s": round(max(waits), 2),
        "config_sets_timed_out": failures,
    }


def main() -> None:
    """Run the benchmark and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-ref", default="529a7b6")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cvn-bench-import-") as tmp:
        root = Path(tmp)
        csv = root / "trades.csv"
        write_trades(csv, args.rows)
        result: dict[str, object] = {
            "benchmark": "journal_import",
            "rows": args.rows,
            "backend": args.backend,
        }
        (root / "after").mkdir()
        after = measure(ROOT / "src", csv, root / "after", args.backend)
        result["after"] = after
        if not args.skip_baseline:
            (root / "before").mkdir()
            old = baseline_source(args.baseline_ref, root / "old")
            before = measure(old, csv, root / "before", args.backend)
            result["before"] = before
            result["baseline_ref"] = args.baseline_ref
            for key in ("wall_s", "peak_rss_mb", "longest_config_wait_s"):
                result[f"{key}_ratio"] = round(float(after[key]) / max(float(before[key]), 1e-3), 3)
        print(json.dumps(result))


if __name__ == "__main__":
    main()
