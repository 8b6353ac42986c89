"""Drift signals of one served champion: feature PSI, output sharpness and live ECE.

* PSI per feature: the champion's training bins (its `Reference`) against the features of the
  recent window, recomputed from the market store with the same code as training
  (`cvntrade.features.compute_features`).
* Sharpness now: `training.metrics.sharpness` of the probabilities the engine logged in the
  `predictions` table over the recent window, vs the training value.
* Live ECE: `training.metrics.ece_equal_mass` (15 equal-mass bins, the ECE_HOLD function) of
  the recent predictions whose triple-barrier outcome is now known (the whole horizon of the
  signal bar exists in the market store), vs ECE_HOLD at training. A prediction's `bar_time`
  is the signal bar's close, i.e. its open time + one interval.

Without a reference (a bundle trained before monitoring existed) the training-side values are
NaN and `note` says "no reference"; nothing fails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import ColumnElement, Engine, Float, cast, func, select

from cvntrade.db.tables import predictions
from cvntrade.monitoring.reference import Reference
from cvntrade.monitoring.signals import (
    PSI_EPSILON,
    bin_proportions,
    ece_equal_mass,
    probability_histogram,
    psi,
    sharpness,
)

NAN = float("nan")
NO_REFERENCE = "no reference (model trained before monitoring references were stored)"


@dataclass(frozen=True, slots=True)
class SymbolDrift:
    """Drift signals of one symbol's champion over the recent window."""

    crypto_symbol: str
    model_name: str
    model_version: int | None
    psi: Mapping[str, float] = field(default_factory=dict)
    sharpness_recent: float = NAN
    sharpness_training: float = NAN
    ece_live: float = NAN
    ece_training: float = NAN
    n_predictions: int = 0
    n_outcomes: int = 0
    histogram_recent: tuple[float, ...] = ()
    histogram_training: tuple[float, ...] = ()
    note: str = ""

    @property
    def psi_max(self) -> float:
        """The largest PSI over the features (NaN when none)."""
        finite = [v for v in self.psi.values() if not np.isnan(v)]
        return max(finite) if finite else NAN


def feature_psi(
    reference: Reference, features: pd.DataFrame, epsilon: float = PSI_EPSILON
) -> dict[str, float]:
    """PSI of every reference feature present in `features` (NaN when no recent values)."""
    out = {}
    for name, ref in reference.features.items():
        if name in features.columns:
            recent = bin_proportions(features[name].to_numpy(np.float64), ref.edges)
            out[name] = psi(ref.proportions, recent, epsilon)
    return out


def known_outcomes(
    prediction_open_ms: npt.ArrayLike,
    probs: npt.ArrayLike,
    bar_open_ms: npt.ArrayLike,
    labels: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The probabilities whose signal bar has a known label (>= 0), and those labels."""
    when = np.asarray(prediction_open_ms, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    bars = np.asarray(bar_open_ms, dtype=np.int64)
    lab = np.asarray(labels, dtype=np.int64)
    pos = np.searchsorted(bars, when)
    inside = pos < bars.size
    matched = np.zeros(when.size, dtype=bool)
    matched[inside] = bars[pos[inside]] == when[inside]
    result = np.full(when.size, -1, dtype=np.int64)
    result[matched] = lab[pos[matched]]
    known = result >= 0
    return p[known], result[known].astype(np.float64)


def read_predictions(
    engine: Engine, symbol: str, since: dt.datetime, strategy: str | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], str | None]:
    """Bar close times (ms) and probabilities of `symbol` (and `strategy`, when given) since
    `since`, and their strategy.

    The database computes the epoch milliseconds and only two numbers per row travel, so no
    datetime or string object is built per row (they were most of the cost of reading 14 days
    of per-minute predictions); the strategy is read once, from the latest row.
    """
    pr = predictions.c
    where = [pr.crypto_symbol == symbol, pr.bar_time >= since]
    if strategy is not None:
        where.append(pr.strategy == strategy)
    query = (
        select(_epoch_ms(pr.bar_time, engine.dialect.name), pr.probability)
        .where(*where)
        .order_by(pr.bar_time)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        if rows and strategy is None:  # the strategy of the latest row: one index seek
            latest = select(pr.strategy).where(*where).order_by(pr.bar_time.desc()).limit(1)
            strategy = conn.execute(latest).scalar_one()
    if not rows:
        return np.empty(0, np.int64), np.empty(0), None
    millis, probs = zip(*rows, strict=True)
    times = np.rint(np.array(millis, dtype=np.float64)).astype(np.int64)
    return times, np.array(probs, dtype=np.float64), str(strategy)


def _epoch_ms(column: ColumnElement[dt.datetime], dialect: str) -> ColumnElement[float]:
    """Milliseconds since the epoch of a naive-UTC timestamp column, computed in SQL."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", column) * 1000, Float)
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff'; julianday() parses it, 2440587.5 is 1970-01-01.
    return cast((func.julianday(column) - 2440587.5) * 86_400_000.0, Float)


def symbol_drift(
    engine: Engine,
    bars: pd.DataFrame | None,
    *,
    symbol: str,
    model_name: str,
    model_version: int | None,
    reference: Reference | None,
    since: dt.datetime,
    strategy: str | None = None,
    interval: str = "1h",
    epsilon: float = PSI_EPSILON,
) -> SymbolDrift:
    """All drift signals of one symbol: `bars` cover the recent window plus the feature
    look-back (None: no market data), predictions come from the database."""
    from cvntrade.features import compute_features, horizon_bars_for, triple_barrier
    from cvntrade.market.schema import interval_ms
    from cvntrade.strategy import Strategy

    times, probs, strategy = read_predictions(engine, symbol, since, strategy)
    since_ms = int(np.datetime64(since, "ms").astype(np.int64))
    psi_values: dict[str, float] = {}
    ece_live, n_outcomes = NAN, 0
    if bars is not None and len(bars):
        stamps = bars["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64)
        if reference is not None:
            feats = compute_features(bars)[stamps >= since_ms]
            psi_values = feature_psi(reference, feats.reset_index(drop=True), epsilon)
        if strategy is not None and times.size:
            parsed = Strategy.parse(strategy)
            tb = triple_barrier(
                bars["open"],
                bars["high"],
                bars["low"],
                bars["close"],
                parsed.stop_pct,
                parsed.take_pct,
                horizon_bars_for(parsed, interval),
            )
            p_known, y_known = known_outcomes(
                times - interval_ms(interval), probs, stamps, tb.label
            )
            n_outcomes = int(p_known.size)
            ece_live = ece_equal_mass(p_known, y_known)
    return SymbolDrift(
        crypto_symbol=symbol,
        model_name=model_name,
        model_version=model_version,
        psi=psi_values,
        sharpness_recent=sharpness(probs),
        sharpness_training=NAN if reference is None else reference.sharpness,
        ece_live=ece_live,
        ece_training=NAN if reference is None else reference.ece_hold,
        n_predictions=int(probs.size),
        n_outcomes=n_outcomes,
        histogram_recent=tuple(probability_histogram(probs).tolist()),
        histogram_training=() if reference is None else reference.probability_histogram,
        note=NO_REFERENCE if reference is None else "",
    )
