"""Training datasets: features and triple-barrier labels of one symbol and strategy, with lineage.

A row is a signal bar `t` (identified by its open time) with `start <= t < end`. It is kept when
its features are complete, i.e. `LOOKBACK_BARS` contiguous bars end at `t` (history before
`start` is read for this warm-up), when `horizon_bars` contiguous bars follow it before `end`
(the trailing, unlabelable bars are dropped), and when it is a real bar (not forward-filled).
Labels never use bars at or after `end`. `label_end` is when the label became known (close of
the exit bar), for purging in walk-forward splits; in the dataset's labels `exit_index` counts
bars from the signal bar to the exit bar (1 .. horizon_bars). The content hash covers every value
and
name, so equal hashes mean equal datasets.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from cvntrade.errors import UserInputError
from cvntrade.features.labels import TripleBarrierLabels, triple_barrier
from cvntrade.features.technical import FEATURE_NAMES, LOOKBACK_BARS, compute_features
from cvntrade.market.schema import interval_ms, timestamps_ms, utc_ms
from cvntrade.market.store import ParquetStore
from cvntrade.strategy import Strategy, parse_symbol

DATASET_FORMAT = "cvntrade-dataset-v1"


@dataclass(frozen=True, slots=True, eq=False)
class Dataset:
    """Aligned rows: signal bar open times, features, labels, label end times; and their hash."""

    symbol: str
    interval: str
    strategy: Strategy
    horizon_bars: int
    timestamps: npt.NDArray[np.datetime64]
    features: pd.DataFrame
    labels: TripleBarrierLabels
    label_end: npt.NDArray[np.datetime64]
    content_hash: str

    def __len__(self) -> int:
        return len(self.timestamps)


def horizon_bars_for(strategy: Strategy, interval: str) -> int:
    """The strategy's horizon in bars of `interval` (it must be a whole number of bars)."""
    horizon_ms = strategy.horizon_hours * 3_600_000
    step = interval_ms(interval)
    if horizon_ms % step:
        raise UserInputError(
            f"strategy {strategy.name}: a {strategy.horizon_hours} h horizon is not a whole "
            f"number of {interval} bars"
        )
    return horizon_ms // step


def build_dataset(
    symbol: str,
    strategy: Strategy | str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    data_dir: Path,
    interval: str = "1h",
) -> Dataset:
    """Read bars from the store under `data_dir` and build the dataset for `[start, end)`."""
    symbol = parse_symbol(symbol)
    strategy = strategy if isinstance(strategy, Strategy) else Strategy.parse(strategy)
    warmup = pd.Timedelta(milliseconds=interval_ms(interval) * LOOKBACK_BARS)
    bars = ParquetStore(data_dir).read(symbol, interval, pd.Timestamp(start) - warmup, end)
    return dataset_from_bars(
        bars, symbol=symbol, strategy=strategy, interval=interval, start=start, end=end
    )


def dataset_from_bars(
    bars: pd.DataFrame,
    *,
    symbol: str,
    strategy: Strategy,
    interval: str,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> Dataset:
    """Build the dataset from a canonical OHLCV frame (see the module docstring for the rules)."""
    step = interval_ms(interval)
    horizon = horizon_bars_for(strategy, interval)
    if end is not None:
        bars = bars[bars["timestamp"] < pd.Timestamp(end)].reset_index(drop=True)
    features = compute_features(bars)
    labels = triple_barrier(
        bars["open"],
        bars["high"],
        bars["low"],
        bars["close"],
        strategy.stop_pct,
        strategy.take_pct,
        horizon,
    )
    ms = timestamps_ms(bars)
    since_break, until_break = _contiguous_runs(ms, step)
    keep = (
        labels.labelable
        & (since_break >= LOOKBACK_BARS)
        & (until_break >= horizon)
        & ~bars["filled"].to_numpy(bool)
        & np.isfinite(features.to_numpy()).all(axis=1)
    )
    if start is not None:
        keep &= ms >= utc_ms(start)
    rows = np.flatnonzero(keep)
    kept_labels = TripleBarrierLabels(
        label=labels.label[rows],
        exit_index=labels.exit_index[rows] - rows,
        exit_reason=labels.exit_reason[rows],
        gross_return_pct=labels.gross_return_pct[rows],
    )
    kept_features = features.iloc[rows].reset_index(drop=True)
    stamps = ms[rows]
    label_end = ms[labels.exit_index[rows]] + step
    content_hash = _content_hash(
        symbol, interval, strategy, horizon, stamps, kept_features, kept_labels
    )
    return Dataset(
        symbol=symbol,
        interval=interval,
        strategy=strategy,
        horizon_bars=horizon,
        timestamps=stamps.astype("datetime64[ms]"),
        features=kept_features,
        labels=kept_labels,
        label_end=label_end.astype("datetime64[ms]"),
        content_hash=content_hash,
    )


def _contiguous_runs(
    ms: npt.NDArray[np.int64], step: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per bar: contiguous bars ending here (itself included), and contiguous bars after it."""
    n = len(ms)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    breaks = np.concatenate(([True], np.diff(ms) != step))
    run_start = np.maximum.accumulate(np.where(breaks, np.arange(n), 0))
    ends = np.concatenate((np.flatnonzero(breaks)[1:] - 1, [n - 1]))
    run_end = ends[np.cumsum(breaks) - 1]
    index = np.arange(n, dtype=np.int64)
    return index - run_start + 1, run_end - index


def _content_hash(
    symbol: str,
    interval: str,
    strategy: Strategy,
    horizon: int,
    stamps: npt.NDArray[np.int64],
    features: pd.DataFrame,
    labels: TripleBarrierLabels,
) -> str:
    header = {
        "format": DATASET_FORMAT,
        "symbol": symbol,
        "interval": interval,
        "strategy": strategy.name,
        "horizon_bars": horizon,
        "features": list(FEATURE_NAMES),
        "rows": len(stamps),
    }
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(stamps, dtype="<i8").tobytes())
    digest.update(np.ascontiguousarray(features.to_numpy(), dtype="<f8").tobytes())
    for array in (labels.label, labels.exit_index, labels.exit_reason):
        digest.update(np.ascontiguousarray(array, dtype="<i8").tobytes())
    digest.update(np.ascontiguousarray(labels.gross_return_pct, dtype="<f8").tobytes())
    return digest.hexdigest()
