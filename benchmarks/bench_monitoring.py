"""Monitoring on a large PostgreSQL journal: signals, scrape latency, evaluator latency.

Prints one JSON line. A dedicated database (`cvn_bench_monitoring`, dropped first) on the
server of `CVN_BENCH_DATABASE_URL` (default: the local PostgreSQL) gets `--trades` journal rows
(5 symbols, 2 years, half focal, net PnL ~ N(0.05, 0.7) %) and `--predictions` predictions (5
symbols, one per minute back from now), both generated server-side with `generate_series`,
plus 5 focal engine heartbeats. Market bars (1h, synthetic) and the training references are
built in memory.

1. **All signals** (`compute_snapshot`: expectancy 48h/7d/14d per symbol and loss with t
   intervals, focal_loss_active, the rule, PSI per feature, sharpness, live ECE) — median of
   `--repeat` runs — vs a naive pandas implementation of the same signals in the same run
   (rows fetched with `pd.read_sql`, windows and groups in pandas, every prediction of a
   symbol fetched and filtered in pandas).
2. **Scrape latency**: `/metrics` p50/p99 over `--scrapes` scrapes while the recomputation
   loop runs back to back (interval 0), and how many scrapes overlapped a recomputation.
3. **Evaluator latency**: `monitor serve`'s evaluation loop (`--eval-interval`, `for: 0`)
   with a webhook to a local receiver: from the commit of the trades that make the rule true
   to the webhook delivery, `--pages` times (the rule is made false again between pages).

Usage: python benchmarks/bench_monitoring.py [--trades 10000000] [--predictions 5000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import queue
import socket
import statistics
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from cvntrade.config import set_config
from cvntrade.db import create_db_engine, upgrade
from cvntrade.db.engine import write_transaction
from cvntrade.features import compute_features, horizon_bars_for, triple_barrier
from cvntrade.market.synthetic import generate_market
from cvntrade.monitoring.alerts import AlertConfig, evaluate, evaluate_engine
from cvntrade.monitoring.evaluator import Evaluator
from cvntrade.monitoring.exporter import MonitorService
from cvntrade.monitoring.notify import WebhookNotifier
from cvntrade.monitoring.reference import Reference, build_reference, parse_reference
from cvntrade.monitoring.service import in_worker_process
from cvntrade.monitoring.snapshot import compute_snapshot
from cvntrade.strategy import Strategy
from cvntrade.trading.persistence import StatusRow, _upsert_status
from cvntrade.training.metrics import ece_equal_mass

SERVER_URL = os.environ.get(
    "CVN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATABASE = "cvn_bench_monitoring"
SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")
STRATEGY = "SL0.5_TP1_H4"
SYMBOL_ARRAY = "ARRAY[" + ",".join(f"'{s}'" for s in SYMBOLS) + "]"
NORMAL = "sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())"  # Box-Muller


def _load(engine: Engine, trades: int, predictions: int, now: dt.datetime) -> dict[str, float]:
    timings = {}
    with engine.begin() as conn:
        for name in ("ix_trade_journal_loss_entry", "ix_trade_journal_symbol_entry"):
            conn.execute(text(f"DROP INDEX {name}"))
        started = time.perf_counter()
        conn.execute(
            text(
                f"""INSERT INTO trade_journal_rows (trade_id, crypto_symbol, strategy, model_name,
                model_version, model_loss_function, side, entry_time, exit_time, entry_price,
                exit_price, exit_reason, fees_pct, realized_pnl_pct, source)
                SELECT 'b-' || g, ({SYMBOL_ARRAY})[1 + g % 5], '{STRATEGY}', 'm', 7,
                  CASE WHEN g % 2 = 0 THEN 'focal' ELSE 'binary' END, 'long', t, t, 100, 100,
                  'horizon', 0.1, round((0.05 + 0.7 * {NORMAL})::numeric, 6), 'import'
                FROM (SELECT g, CAST(:now AS timestamp) - random() * interval '730 days' AS t
                      FROM generate_series(1, :n) g) s"""
            ),
            {"now": now, "n": trades},
        )
        conn.execute(
            text(
                f"""INSERT INTO predictions (crypto_symbol, strategy, bar_time, model_name,
                model_version, model_loss_function, probability, created_at)
                SELECT ({SYMBOL_ARRAY})[1 + g % 5], '{STRATEGY}',
                  date_trunc('minute', CAST(:now AS timestamp)) - (g / 5) * interval '1 minute',
                  'm', 7, 'focal', random(), CAST(:now AS timestamp)
                FROM generate_series(0, :n - 1) g"""
            ),
            {"now": now, "n": predictions},
        )
        timings["load_s"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute(
            text(
                "CREATE INDEX ix_trade_journal_loss_entry ON trade_journal_rows "
                "(model_loss_function, entry_time) "
                "INCLUDE (crypto_symbol, realized_pnl_pct, import_batch_id)"
            )
        )
        conn.execute(
            text(
                "CREATE INDEX ix_trade_journal_symbol_entry ON trade_journal_rows "
                "(crypto_symbol, entry_time)"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE trade_journal_rows"))
        conn.execute(text("VACUUM ANALYZE predictions"))
    timings["index_s"] = time.perf_counter() - started
    rows = [
        StatusRow("bench", s, STRATEGY, f"m_{s}", 7, "focal", False, "paper", now) for s in SYMBOLS
    ]
    with write_transaction(engine) as conn:
        _upsert_status(conn, rows)
    return timings


def _market(now: dt.datetime) -> tuple[dict[str, pd.DataFrame], dict[str, Reference]]:
    end = pd.Timestamp(now).floor("h") + pd.Timedelta(hours=1)
    market = generate_market(list(SYMBOLS), end - pd.Timedelta(days=60), end, seed=5)
    rng = np.random.default_rng(0)
    references = {}
    for symbol, bars in market.frames.items():
        feats = compute_features(bars)
        old = feats[(bars["timestamp"] < end - pd.Timedelta(days=14)).to_numpy()].dropna()
        raw = build_reference(
            old, rng.uniform(0, 1, len(old)), rng.integers(0, 2, len(old)), window=("a", "b")
        )
        ref = parse_reference({"monitoring_reference": raw})
        assert ref is not None
        references[f"m_{symbol}"] = ref
    return market.frames, references


def _naive(
    engine: Engine, now: dt.datetime, frames: dict[str, pd.DataFrame], refs: dict[str, Reference]
) -> dict[str, Any]:
    """The same signals the obvious pandas way (the baseline of the ratio)."""
    with engine.connect() as conn:
        journal = pd.read_sql(
            text(
                "SELECT crypto_symbol, model_loss_function, entry_time, realized_pnl_pct "
                "FROM trade_journal WHERE entry_time >= :t"
            ),
            conn,
            params={"t": now - dt.timedelta(days=14)},
        )
        config = pd.read_sql(text("SELECT base_env FROM ftf_config"), conn)
        status = pd.read_sql(text("SELECT * FROM engine_status"), conn)
    age = now - journal["entry_time"]
    windows = {
        "48h": age <= pd.Timedelta(hours=48),
        "7d": age <= pd.Timedelta(days=7),
        "14d_baseline": age > pd.Timedelta(hours=48),
    }
    expectancy = {}
    for window, mask in windows.items():
        for key, group in journal[mask].groupby(["crypto_symbol", "model_loss_function"]):
            pnl = group["realized_pnl_pct"]
            ci = stats.t.interval(0.95, len(pnl) - 1, loc=pnl.mean(), scale=pnl.sem())
            expectancy[(*key, window)] = (pnl.mean(), len(pnl), ci)
    focal = config["base_env"][0].get("CVN_LOSS_FUNCTION") == "focal" or bool(
        (status["model_loss_function"] == "focal").any()
    )
    focal_48h = {k[0]: v[0] for k, v in expectancy.items() if k[1:] == ("focal", "48h")}
    state = evaluate(focal_48h, focal, AlertConfig())
    strat = Strategy.parse(STRATEGY)
    drift = {}
    for symbol in SYMBOLS:
        with engine.connect() as conn:
            preds = pd.read_sql(
                text("SELECT * FROM predictions WHERE crypto_symbol = :s"),
                conn,
                params={"s": symbol},
            )
        preds = preds[preds["bar_time"] >= now - dt.timedelta(days=7)]
        bars = frames[symbol]
        feats = compute_features(bars)[(bars["timestamp"] >= now - dt.timedelta(days=7)).to_numpy()]
        ref = refs[f"m_{symbol}"]
        psi = {}
        for name, fr in ref.features.items():
            edges = [-np.inf, *fr.edges, np.inf]
            share = pd.cut(feats[name].dropna(), edges, right=False).value_counts(
                normalize=True, sort=False
            )
            q = np.maximum(share.to_numpy(), 1e-4)
            p = np.maximum(np.array(fr.proportions), 1e-4)
            psi[name] = float(((q - p) * np.log(q / p)).sum())
        tb = triple_barrier(
            bars["open"],
            bars["high"],
            bars["low"],
            bars["close"],
            strat.stop_pct,
            strat.take_pct,
            horizon_bars_for(strat, "1h"),
        )
        labels = pd.Series(tb.label, index=bars["timestamp"])
        opened = preds["bar_time"] - pd.Timedelta(hours=1)
        known = labels.reindex(opened.to_numpy()).to_numpy()
        mask = ~np.isnan(known) & (known >= 0)
        drift[symbol] = (
            psi,
            preds["probability"].std(ddof=0),
            ece_equal_mass(preds["probability"].to_numpy()[mask], known[mask]),
        )
    return {"expectancy": expectancy, "state": state, "drift": drift}


def _bench_job(database_url: str, now: dt.datetime) -> Callable[[], Any]:
    """The benchmark's snapshot job, built inside the exporter's worker process."""
    engine = create_db_engine(database_url)
    frames, refs = _market(now)

    def bars(symbol: str, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        f = frames[symbol]
        return f[(f["timestamp"] >= start) & (f["timestamp"] < end)].reset_index(drop=True)

    return lambda: compute_snapshot(
        engine, now=now, references=lambda name, _v: refs.get(name), bars=bars
    )


def _median_s(fn: Callable[[], object], repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _receiver() -> tuple[ThreadingHTTPServer, str, queue.Queue[tuple[float, dict[str, Any]]]]:
    received: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.put((time.perf_counter(), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/", received


def _round(value: float) -> float | None:
    return None if value != value else round(value, 1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    """Build the data, time the three figures, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, default=10_000_000)
    parser.add_argument("--predictions", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--eval-interval", type=float, default=1.0)
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument(
        "--reuse", action="store_true", help="Reuse the database a --keep run left (no load)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database at the end.")
    args = parser.parse_args()

    server = make_url(SERVER_URL)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    engine = create_db_engine(server.set(database=DATABASE).render_as_string(hide_password=False))
    if args.reuse:
        with engine.connect() as conn:
            now = conn.execute(text("SELECT max(created_at) FROM predictions")).scalar_one()
        timings = {"load_s": float("nan"), "index_s": float("nan")}
    else:
        upgrade(engine)
        set_config(engine, {"CVN_LOSS_FUNCTION": "focal"}, reason="bench", actor="bench")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        timings = _load(engine, args.trades, args.predictions, now)
    frames, refs = _market(now)

    def bars(symbol: str, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
        f = frames[symbol]
        return f[(f["timestamp"] >= start) & (f["timestamp"] < end)].reset_index(drop=True)

    def ours() -> Any:
        return compute_snapshot(
            engine, now=now, references=lambda name, _v: refs.get(name), bars=bars
        )

    snapshot = ours()
    naive = _naive(engine, now, frames, refs)
    got = {
        (w.crypto_symbol, w.model_loss_function, w.window): w.stats.mean
        for w in snapshot.expectancy
    }
    agree = all(abs(got[k] - v[0]) < 1e-9 for k, v in naive["expectancy"].items()) and all(
        abs(d.ece_live - naive["drift"][d.crypto_symbol][2]) < 1e-9 for d in snapshot.drift
    )
    ours_s = _median_s(ours, args.repeat)
    naive_s = _median_s(lambda: _naive(engine, now, frames, refs), max(1, args.repeat // 2))

    # 2. scrapes while the recomputation loop runs back to back (in the worker process, as
    # `monitor serve` does)
    url = engine.url.render_as_string(hide_password=False)
    worker_job, shutdown = in_worker_process(functools.partial(_bench_job, url, now))
    computing = threading.Event()

    def compute() -> Any:
        computing.set()
        try:
            return worker_job()
        finally:
            computing.clear()

    port = _free_port()
    service = MonitorService(compute, interval_s=0.0)
    service.start(port)
    latencies, overlapped = [], 0
    for _ in range(args.scrapes):
        busy = computing.is_set()
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
            response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        overlapped += busy
    service.stop()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]

    # 3. evaluator: commit → webhook
    http, url, received = _receiver()
    hook = WebhookNotifier(url)
    evaluator = Evaluator(engine, [hook], for_=dt.timedelta(0))
    service = MonitorService(
        compute,
        interval_s=30.0,
        evaluate=lambda: evaluator.evaluate(evaluate_engine(engine)),
        evaluate_interval_s=args.eval_interval,
    )
    service.start()
    page_s = []
    for page in range(args.pages):
        with engine.begin() as conn:
            sums = dict(
                conn.execute(
                    text(
                        "SELECT crypto_symbol, sum(realized_pnl_pct) + 1 FROM trade_journal "
                        "WHERE model_loss_function = 'focal' AND entry_time >= :t "
                        "AND crypto_symbol IN ('BTCUSDC', 'ETHUSDC') GROUP BY crypto_symbol"
                    ),
                    {"t": dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=48)},
                ).all()
            )
            entry = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
            for symbol, total in sums.items():
                conn.execute(
                    text(
                        "INSERT INTO trade_journal_rows (trade_id, crypto_symbol, strategy,"
                        " model_name,"
                        " model_version, model_loss_function, side, entry_time, exit_time,"
                        " entry_price, exit_price, exit_reason, fees_pct, realized_pnl_pct,"
                        " source) VALUES (:id, :s, :st, 'm', 7, 'focal', 'long', :e, :e, 100,"
                        " 100, 'stop_loss', 0.1, :pnl, 'import')"
                    ),
                    {
                        "id": f"page-{page}-{symbol}",
                        "s": symbol,
                        "st": STRATEGY,
                        "e": entry,
                        "pnl": -float(total),
                    },
                )
        committed = time.perf_counter()
        while True:
            at, body = received.get(timeout=120)
            if body["status"] == "firing":
                page_s.append(at - committed)
                break
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM trade_journal_rows WHERE trade_id LIKE :p"),
                {"p": f"page-{page}-%"},
            )
        while received.get(timeout=120)[1]["status"] != "resolved":
            pass
    service.stop()
    shutdown()
    hook.close()
    http.shutdown()
    engine.dispose()
    if not args.keep:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
    admin.dispose()

    print(
        json.dumps(
            {
                "benchmark": "monitoring",
                "trades": args.trades,
                "predictions": args.predictions,
                "load_generate_series_s": _round(timings["load_s"]),
                "index_and_analyze_s": _round(timings["index_s"]),
                "signals_5_symbols_s_p50": round(ours_s, 3),
                "signals_naive_pandas_s_p50": round(naive_s, 3),
                "ratio_naive_over_ours": round(naive_s / ours_s, 1),
                "results_agree_1e-9": agree,
                "scrape_ms_p50": round(latencies[len(latencies) // 2], 2),
                "scrape_ms_p99": round(p99, 2),
                "scrapes": len(latencies),
                "scrapes_during_recomputation": overlapped,
                "eval_interval_s": args.eval_interval,
                "commit_to_webhook_s": [round(s, 3) for s in page_s],
                "commit_to_webhook_s_max": round(max(page_s), 3),
                "targets": {
                    "signals_s": 2.0,
                    "scrape_p99_ms": 50,
                    "page_s": args.eval_interval + 1,
                },
                "meets_targets": ours_s < 2.0 and p99 < 50 and max(page_s) < args.eval_interval + 1,
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
