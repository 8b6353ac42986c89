"""One recomputation of every monitoring signal, and its storage in `monitor_snapshots`.

`compute_snapshot` reads the journal (expectancy windows), the config and heartbeats
(focal_loss_active), evaluates the alert rule, and for each symbol an engine serves (not
stopped) computes PSI, sharpness and live ECE against the champion's training reference.
References come from an injected provider (`(model_name, version) -> Reference | None`), the
market bars from an injected loader, so tests and the benchmark need no MLflow.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, insert, select

from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import engine_status, monitor_snapshots
from cvntrade.monitoring.alerts import (
    AlertConfig,
    AlertState,
    FocalActive,
    evaluate,
    read_focal_active,
)
from cvntrade.monitoring.drift import NO_REFERENCE, SymbolDrift, symbol_drift
from cvntrade.monitoring.expectancy import WindowExpectancy, expectancy_windows, focal_48h
from cvntrade.monitoring.recovery import Recovery, read_recovery
from cvntrade.monitoring.reference import Reference
from cvntrade.monitoring.signals import PSI_EPSILON, PsiThresholds

ReferenceProvider = Callable[[str, int], Reference | None]
BarLoader = Callable[[str, dt.datetime, dt.datetime], pd.DataFrame | None]


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """What a recomputation looks at: the recent window, PSI epsilon/thresholds, the rule."""

    recent: dt.timedelta = dt.timedelta(days=7)
    interval: str = "1h"
    psi_epsilon: float = PSI_EPSILON
    psi_thresholds: PsiThresholds = field(default_factory=PsiThresholds)
    alert: AlertConfig = field(default_factory=AlertConfig)


@dataclass(frozen=True, slots=True)
class MonitorSnapshot:
    """Every signal as of `at`, plus the alert verdict computed from them."""

    at: dt.datetime
    expectancy: tuple[WindowExpectancy, ...]
    focal: FocalActive
    alert: AlertState
    drift: tuple[SymbolDrift, ...]
    recovery: Recovery | None = None
    """Did expectancy recover after the last rollback (`cvntrade.monitoring.recovery`)."""


def served_champions(engine: Engine) -> list[tuple[str, str, int | None, str]]:
    """(symbol, model name, version, strategy) of every symbol an engine serves (not stopped);
    with several engines on a symbol, the latest heartbeat wins."""
    es = engine_status.c
    query = (
        select(es.crypto_symbol, es.model_name, es.model_version, es.strategy)
        .where(es.mode != "stopped")
        .order_by(es.crypto_symbol, es.heartbeat_at.desc())
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    seen: dict[str, tuple[str, str, int | None, str]] = {}
    for symbol, name, version, strategy in rows:
        seen.setdefault(symbol, (symbol, name, version, strategy))
    return list(seen.values())


def compute_snapshot(
    engine: Engine,
    *,
    now: dt.datetime,
    references: ReferenceProvider,
    bars: BarLoader,
    settings: MonitorSettings | None = None,
) -> MonitorSnapshot:
    """Recompute every signal as of `now` (read-only)."""
    from cvntrade.features import LOOKBACK_BARS
    from cvntrade.market.schema import interval_ms

    cfg = settings or MonitorSettings()
    windows = expectancy_windows(engine, now)
    focal = read_focal_active(engine, now=now)
    state = evaluate(focal_48h(windows), focal, cfg.alert)
    since = now - cfg.recent
    warmup = dt.timedelta(milliseconds=interval_ms(cfg.interval) * LOOKBACK_BARS)
    drift = []
    for symbol, name, version, strategy in served_champions(engine):
        reference = None if version is None else references(name, version)
        drift.append(
            symbol_drift(
                engine,
                bars(symbol, since - warmup, now),
                symbol=symbol,
                model_name=name,
                model_version=version,
                reference=reference,
                since=since,
                strategy=strategy,
                interval=cfg.interval,
                epsilon=cfg.psi_epsilon,
            )
        )
    recovery = read_recovery(engine, now=now)
    return MonitorSnapshot(now, tuple(windows), focal, state, tuple(drift), recovery)


def snapshot_rows(snapshot: MonitorSnapshot) -> list[dict[str, object]]:
    """The `monitor_snapshots` rows of a snapshot (one per symbol and signal)."""
    at = snapshot.at
    rows: list[dict[str, object]] = [
        _row(
            at, "", "focal_loss_active", float(snapshot.focal.active), source=snapshot.focal.source
        ),
        _row(
            at,
            "",
            "alert.expectancy_negative_focal",
            float(snapshot.alert.firing),
            negative_symbols=list(snapshot.alert.negative_symbols),
        ),
    ]
    recovery = snapshot.recovery
    if recovery is not None and recovery.rollback is not None:
        rows.append(
            _row(
                at,
                "",
                "alert.expectancy_not_recovered_after_rollback",
                float(recovery.firing),
                verdict=recovery.verdict.value,
                rollback_at=recovery.rollback.at.isoformat(),
                symbols=list(recovery.rollback.symbols),
                n_trades=recovery.n_trades,
                expectancy_pct=recovery.expectancy_pct,
            )
        )
    for w in snapshot.expectancy:
        rows.append(
            _row(
                at,
                w.crypto_symbol,
                f"expectancy.{w.window}.{w.model_loss_function}",
                w.stats.mean,
                n_trades=w.stats.n_trades,
                ci_low=_json(w.stats.ci_low),
                ci_high=_json(w.stats.ci_high),
            )
        )
    for d in snapshot.drift:
        s = d.crypto_symbol
        rows.append(_row(at, s, "psi_max", d.psi_max, psi={k: _json(v) for k, v in d.psi.items()}))
        rows.append(
            _row(
                at,
                s,
                "sharpness",
                d.sharpness_recent,
                training=_json(d.sharpness_training),
                histogram_recent=[_json(v) for v in d.histogram_recent],
                histogram_training=[_json(v) for v in d.histogram_training],
            )
        )
        rows.append(
            _row(at, s, "ece_live", d.ece_live, training=_json(d.ece_training), n=d.n_outcomes)
        )
        if d.note == NO_REFERENCE:
            rows[-1]["data"] = {**rows[-1]["data"], "note": d.note}  # type: ignore[dict-item]
    return rows


def store_snapshot(engine: Engine, snapshot: MonitorSnapshot) -> int:
    """Append a snapshot to `monitor_snapshots`; returns the number of rows written."""
    rows = snapshot_rows(snapshot)
    with write_transaction(engine) as conn:
        conn.execute(insert(monitor_snapshots), rows)
    return len(rows)


def _row(
    at: dt.datetime, symbol: str, signal: str, value: float, **data: object
) -> dict[str, object]:
    return {
        "at": at,
        "crypto_symbol": symbol,
        "signal": signal,
        "value": _json(value),
        "data": data,
    }


def _json(value: float) -> float | None:
    return None if math.isnan(value) else value


def parquet_bar_loader(root: Path, interval: str = "1h") -> BarLoader:
    """A `BarLoader` over the market store at `root` (None when a symbol has no bars)."""
    from cvntrade.errors import NotFoundError
    from cvntrade.market import ParquetStore

    store = ParquetStore(root)

    def load(symbol: str, start: dt.datetime, end: dt.datetime) -> pd.DataFrame | None:
        try:
            return store.read(symbol, interval, pd.Timestamp(start), pd.Timestamp(end))
        except NotFoundError:
            return None

    return load


def symbols_of(snapshot: MonitorSnapshot) -> Iterable[str]:
    """Every symbol a snapshot mentions, sorted."""
    names = {w.crypto_symbol for w in snapshot.expectancy} | {
        d.crypto_symbol for d in snapshot.drift
    }
    return sorted(names)
