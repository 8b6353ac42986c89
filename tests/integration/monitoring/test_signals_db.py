"""Signals read from the database (SQLite and PostgreSQL) against pandas/scipy references."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from monitoring_support import (
    NOW,
    heartbeat,
    random_trades,
    write_predictions,
    write_trades,
)
from scipy import stats
from sqlalchemy import Engine, select

from cvntrade.clock import fixed_clock
from cvntrade.db.tables import monitor_snapshots
from cvntrade.features import compute_features, horizon_bars_for, triple_barrier
from cvntrade.journal.expectancy import expectancy_by_symbol
from cvntrade.market.synthetic import generate_market
from cvntrade.monitoring.drift import NO_REFERENCE
from cvntrade.monitoring.expectancy import expectancy_windows, focal_48h
from cvntrade.monitoring.reference import build_reference, parse_reference
from cvntrade.monitoring.snapshot import compute_snapshot, store_snapshot
from cvntrade.strategy import Strategy

TOL = 1e-9


def test_expectancy_windows_match_pandas_and_scipy(engine: Engine) -> None:
    trades = random_trades(5)
    write_trades(engine, trades)
    got = {
        (w.crypto_symbol, w.model_loss_function, w.window): w.stats
        for w in expectancy_windows(engine, NOW)
    }
    frame = pd.DataFrame([t.as_row() for t in trades])
    age = NOW - frame["entry_time"]
    masks = {
        "48h": age <= pd.Timedelta(hours=48),
        "7d": age <= pd.Timedelta(days=7),
        "14d_baseline": (age <= pd.Timedelta(days=14)) & (age > pd.Timedelta(hours=48)),
    }
    expected = 0
    for window, mask in masks.items():
        for (symbol, loss), group in frame[mask].groupby(["crypto_symbol", "model_loss_function"]):
            pnl = group["realized_pnl_pct"]
            s = got[symbol, loss, window]
            low, high = stats.t.interval(0.95, len(pnl) - 1, loc=pnl.mean(), scale=pnl.sem())
            assert s.n_trades == len(pnl)
            assert s.mean == pytest.approx(pnl.mean(), abs=TOL)
            assert s.ci_low == pytest.approx(low, abs=TOL)
            assert s.ci_high == pytest.approx(high, abs=TOL)
            expected += 1
    assert len(got) == expected
    step1 = expectancy_by_symbol(engine, window=dt.timedelta(hours=48), clock=fixed_clock(NOW))
    rule_input = focal_48h(expectancy_windows(engine, NOW))
    assert rule_input == pytest.approx({r.crypto_symbol: r.expectancy_pct for r in step1}, abs=TOL)


def _slow_psi(train: list[float], recent: list[float], eps: float = 1e-4) -> float:
    edges = sorted(set(pd.Series(train).quantile([k / 10 for k in range(1, 10)])))

    def share(values: list[float]) -> list[float]:
        counts = [0] * (len(edges) + 1)
        for v in values:
            counts[sum(1 for e in edges if e <= v)] += 1
        return [max(c / len(values), eps) for c in counts]

    return sum((q - p) * math.log(q / p) for p, q in zip(share(train), share(recent), strict=True))


def _slow_ece(probs: list[float], labels: list[float], bins: int = 15) -> float:
    edges = list(np.quantile(probs, [k / bins for k in range(1, bins)]))
    groups: dict[int, list[tuple[float, float]]] = {}
    for p, y in zip(probs, labels, strict=True):
        groups.setdefault(sum(1 for e in edges if e <= p), []).append((p, y))
    return sum(
        len(g) / len(probs) * abs(sum(p for p, _ in g) / len(g) - sum(y for _, y in g) / len(g))
        for g in groups.values()
    )


def test_drift_signals_match_slow_references_and_are_stored(engine: Engine) -> None:
    start = pd.Timestamp(NOW) - pd.Timedelta(days=40)
    bars = generate_market(["BTCUSDC"], start, pd.Timestamp(NOW), seed=4).frames["BTCUSDC"]
    feats = compute_features(bars)
    since = NOW - dt.timedelta(days=7)
    train_rows = (bars["timestamp"] < pd.Timestamp(NOW) - pd.Timedelta(days=10)).to_numpy()
    rng = np.random.default_rng(0)
    train_feats = feats[train_rows & np.isfinite(feats.to_numpy()).all(axis=1)]
    ref_probs = rng.uniform(0.3, 0.7, len(train_feats))
    raw = build_reference(
        train_feats, ref_probs, rng.integers(0, 2, len(train_feats)), window=("a", "b")
    )
    reference = parse_reference({"monitoring_reference": raw})
    assert reference is not None
    recent_open = bars["timestamp"][bars["timestamp"] >= pd.Timestamp(since)].reset_index(drop=True)
    probs = rng.uniform(0.2, 0.9, len(recent_open))
    write_predictions(engine, "BTCUSDC", recent_open, probs)
    heartbeat(engine, "BTCUSDC", "focal")
    heartbeat(engine, "ETHUSDC", "focal")  # no bars, no predictions, old bundle: no reference

    snap = compute_snapshot(
        engine,
        now=NOW,
        references=lambda name, version: reference if name == "m_BTCUSDC" else None,
        bars=lambda symbol, a, b: (
            bars[(bars["timestamp"] >= a) & (bars["timestamp"] < b)].reset_index(drop=True)
            if symbol == "BTCUSDC"
            else None
        ),
    )
    btc, eth = snap.drift
    assert (btc.crypto_symbol, eth.crypto_symbol) == ("BTCUSDC", "ETHUSDC")
    assert eth.note == NO_REFERENCE and math.isnan(eth.sharpness_training) and eth.psi == {}

    recent_feats = feats[(bars["timestamp"] >= pd.Timestamp(since)).to_numpy()]
    for name in ("ret_1", "vol_24", "rsi_14", "hour_sin"):
        slow = _slow_psi(list(train_feats[name]), list(recent_feats[name]))
        assert btc.psi[name] == pytest.approx(slow, abs=TOL), name
    assert btc.sharpness_recent == pytest.approx(pd.Series(probs).std(ddof=0), abs=TOL)
    assert btc.sharpness_training == pytest.approx(pd.Series(ref_probs).std(ddof=0), abs=TOL)

    strat = Strategy.parse("SL0.5_TP1_H4")
    tb = triple_barrier(
        bars["open"],
        bars["high"],
        bars["low"],
        bars["close"],
        strat.stop_pct,
        strat.take_pct,
        horizon_bars_for(strat, "1h"),
    )
    label_of = dict(zip(bars["timestamp"], tb.label, strict=True))
    known = [
        (p, float(label_of[t])) for t, p in zip(recent_open, probs, strict=True) if label_of[t] >= 0
    ]
    assert btc.n_outcomes == len(known) < len(probs)
    assert btc.ece_live == pytest.approx(
        _slow_ece([p for p, _ in known], [y for _, y in known]), abs=TOL
    )

    written = store_snapshot(engine, snap)
    with engine.connect() as conn:
        rows = conn.execute(select(monitor_snapshots.c.signal, monitor_snapshots.c.value)).all()
    assert len(rows) == written
    assert ("focal_loss_active", 1.0) in [tuple(r) for r in rows]
    assert {r.signal for r in rows} >= {"psi_max", "sharpness", "ece_live"}
