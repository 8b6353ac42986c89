"""Benchmark `cvntrade runbook rollback` against the 60 s revert SLA; prints one JSON line.

Setup (all under a temporary directory, nothing on the network): a migrated SQLite database, an
MLflow sqlite store with 5 models `CVNTrade_XGBoost_{SYMBOL}_SL0.5_TP1_H4` (versions 1 and 2
binary, 3 focal = champion), `ftf_config` on focal, and the real trading engine
(`cvntrade.trading.service.run_live`, champion cache + alias-event invalidation + heartbeats) in
a child process, paper trading a synthetic exchange with constant-probability models and polling
every ``--engine-poll-s`` seconds (the live engine re-checks its champions once per poll).

Each of ``--trials`` trials resets the champions to focal (audited moves, so the engine reloads),
waits until the engine serves them, then calls `cvntrade.runbook.rollback` on the 5 symbols:

* `alias_part_s`: plan (registry reads), config flip and the 5 audited alias moves;
* `propagation_s`: from the last move until the engine reports the binary versions;
* `baseline_raw_alias_s`: the same 5 moves as bare `MlflowClient.set_registered_model_alias`
  calls (what the runbook's `mlflow models set-alias` loop does), measured in the same run;
  `ratio_alias_part_vs_raw` = max alias part / max raw moves.

`cli_wall_s` is the wall time of the whole `cvntrade runbook rollback` process (start-up, MLflow
import, rollback, propagation) over ``--cli-trials`` trials. Reported figures are maxima (and
medians); the target is < 5 s, the SLA 60 s. Wall times depend on other load on the machine: the
JSON records the load average.

Usage: ``.venv/bin/python benchmarks/bench_rollback.py [--trials 10 --cli-trials 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")
STRATEGY = "SL0.5_TP1_H4"
FOCAL, BINARY = 3, 2
ENGINE_ID = "bench-engine"
TARGET_S = 5.0


def run_engine(db_url: str, tracking_uri: str, poll_s: float) -> None:
    """The engine child: live paper trading on a synthetic exchange until killed."""
    import numpy as np
    import pandas as pd

    from cvntrade.db import create_db_engine
    from cvntrade.market import generate_market
    from cvntrade.market.schema import timestamps_ms
    from cvntrade.registry import MlflowRegistry
    from cvntrade.strategy import Strategy
    from cvntrade.trading.engine import Costs
    from cvntrade.trading.service import EngineSetup, run_live

    end = pd.Timestamp("2026-01-06")
    market = generate_market(SYMBOLS, end - pd.Timedelta(days=5), end, seed=3)
    candles = {
        f"{symbol.removesuffix('USDC')}/USDC": [
            [int(ms), *row]
            for ms, row in zip(
                timestamps_ms(frame),
                frame[["open", "high", "low", "close", "volume"]].to_numpy().tolist(),
                strict=True,
            )
        ]
        for symbol, frame in market.frames.items()
    }

    class Exchange:
        def fetch_ohlcv(
            self,
            symbol: str,
            timeframe: str = "1m",
            since: int | None = None,
            limit: int | None = None,
        ) -> list[list[float]]:
            rows = [c for c in candles[symbol] if since is None or c[0] >= since]
            return rows[: limit or len(rows)]

    class ConstantModel:
        threshold = 2.0  # never enters: only which version serves matters here

        def __init__(self, loss_function: str) -> None:
            self.loss_function = loss_function

        def predict_proba(self, features: Any) -> Any:
            return np.full(len(features), 0.5)

    registry = MlflowRegistry(tracking_uri)
    setup = EngineSetup(
        db=create_db_engine(db_url),
        registry=registry,
        loader=lambda name, version: ConstantModel(
            registry.get_version(name, version).loss_function or "binary"
        ),
        symbols=SYMBOLS,
        strategy=Strategy.parse(STRATEGY),
        interval="1h",
        costs=Costs(0.1, 0.02),
        poll_s=2.0,
        engine_id=ENGINE_ID,
    )
    run_live(
        setup,
        Exchange(),
        since=(end - pd.Timedelta(hours=3)).to_pydatetime(),
        max_polls=None,
        poll_every_s=poll_s,
        now=lambda: end.to_pydatetime(),
    )


def _served(db: Any) -> dict[str, int | None]:
    from sqlalchemy import select

    from cvntrade.db.tables import engine_status

    with db.connect() as conn:
        rows = conn.execute(
            select(engine_status.c.crypto_symbol, engine_status.c.model_version).where(
                engine_status.c.engine_id == ENGINE_ID
            )
        ).all()
    return {str(symbol): version for symbol, version in rows}


def _wait_served(db: Any, version: int, engine: subprocess.Popen[bytes], limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while _served(db) != dict.fromkeys(SYMBOLS, version):
        if engine.poll() is not None:
            raise SystemExit(f"engine child exited with {engine.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"engine does not serve version {version} after {limit_s:g} s")
        time.sleep(0.02)


def main() -> None:
    """Set up, run the trials, print one JSON line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--cli-trials", type=int, default=3)
    parser.add_argument("--engine-poll-s", type=float, default=0.5)
    parser.add_argument("--engine-child", nargs=2, metavar=("DB_URL", "TRACKING_URI"))
    args = parser.parse_args()
    if args.engine_child:
        db_url, tracking_uri = args.engine_child
        run_engine(db_url, tracking_uri, args.engine_poll_s)
        return

    from mlflow import MlflowClient

    from cvntrade.config import set_config
    from cvntrade.db import create_db_engine, upgrade
    from cvntrade.registry import MlflowRegistry, set_alias
    from cvntrade.runbook import rollback
    from cvntrade.strategy import model_name

    root = Path(tempfile.mkdtemp(prefix="bench_rollback_"))
    db_url, tracking_uri = f"sqlite:///{root / 'cvntrade.db'}", f"sqlite:///{root / 'mlflow.db'}"
    db = create_db_engine(db_url)
    upgrade(db)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    names = [model_name(symbol, STRATEGY) for symbol in SYMBOLS]
    for name in names:
        client.create_registered_model(name)
        for loss in ("binary", "binary", "focal"):
            client.create_model_version(name, source=str(root), tags={"loss_function": loss})
        client.set_registered_model_alias(name, "champion", str(FOCAL))
    registry = MlflowRegistry(tracking_uri)

    baseline = []
    for _ in range(args.trials):
        start = time.perf_counter()
        for name in names:
            client.set_registered_model_alias(name, "champion", str(BINARY))
        baseline.append(time.perf_counter() - start)
        for name in names:
            client.set_registered_model_alias(name, "champion", str(FOCAL))

    engine = subprocess.Popen(
        [
            *(sys.executable, __file__, "--engine-poll-s", str(args.engine_poll_s)),
            *("--engine-child", db_url, tracking_uri),
        ],
        env={**os.environ, "CVN_HOME": str(root)},
        stdout=subprocess.DEVNULL,
    )
    alias, propagation, total, cli_wall = [], [], [], []
    try:
        _wait_served(db, FOCAL, engine, 120)

        def reset() -> None:
            set_config(db, {"CVN_LOSS_FUNCTION": "focal"}, reason="bench reset", actor="bench")
            for name in names:
                set_alias(
                    db,
                    registry,
                    name=name,
                    alias="champion",
                    version=FOCAL,
                    reason="bench reset",
                    actor="bench",
                )
            _wait_served(db, FOCAL, engine, 60)

        for _ in range(args.trials):
            reset()
            result = rollback(
                db, registry, reason="bench", actor="bench", symbols=SYMBOLS, wait_s=60
            )
            assert result.propagation is not None and result.propagation.complete, result
            alias.append(result.timing.alias_part_s)
            propagation.append(result.timing.propagation_part_s)
            total.append(result.timing.total_s)
        env = {
            **os.environ,
            "CVN_HOME": str(root),
            "CVN_DATABASE_URL": db_url,
            "MLFLOW_TRACKING_URI": tracking_uri,
        }
        for _ in range(args.cli_trials):
            reset()
            start = time.perf_counter()
            done = subprocess.run(
                [
                    *(
                        sys.executable,
                        "-m",
                        "cvntrade.cli.main",
                        "runbook",
                        "rollback",
                        "--reason",
                        "bench",
                    ),
                    *("--symbols", ",".join(SYMBOLS), "--wait-s", "60", "--json"),
                ],
                capture_output=True,
                text=True,
                env=env,
            )
            cli_wall.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"cli rollback failed: {done.stderr.strip()}")
    finally:
        engine.kill()
        engine.wait()
        db.dispose()
        shutil.rmtree(root, ignore_errors=True)

    def stats(values: list[float]) -> dict[str, float | None]:
        if not values:
            return {"max": None, "median": None}
        return {"max": round(max(values), 4), "median": round(statistics.median(values), 4)}

    print(
        json.dumps(
            {
                "benchmark": "runbook_rollback",
                "symbols": len(SYMBOLS),
                "trials": args.trials,
                "alias_part_s": stats(alias),
                "propagation_s": stats(propagation),
                "total_s": stats(total),
                "baseline_raw_alias_s": stats(baseline),
                "ratio_alias_part_vs_raw": round(max(alias) / max(baseline), 2),
                "cli_wall_s": stats(cli_wall),
                "cli_trials": args.cli_trials,
                "target_s": TARGET_S,
                "sla_s": 60.0,
                "within_target": max(cli_wall or total) < TARGET_S,
                "engine": "run_live child process on a synthetic exchange, "
                f"polling every {args.engine_poll_s} s",
                "stores": "SQLite (WAL) database + MLflow sqlite store",
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
