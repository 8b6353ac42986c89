"""Training datasets: features and triple-barrier labels of one symbol and strategy, with lineage.

A row is a signal bar `t` (identified by its open time) with `start <= t < end`. It is kept when
the bar is usable by the rule of `cvntrade.features.gaps` (the one the trading engine applies:
`LOOKBACK_BARS` contiguous bars end at `t`, counted in bars, history before `start` is read for
this warm-up; a real bar, not forward-filled; finite features) and when `horizon_bars`
contiguous bars follow it before `end` (the trailing, unlabelable bars are dropped).
`Dataset.dropped` counts the bars of the range left out, per reason (`gaps.DROP_REASONS`).
Labels never use bars at or after `end`. `label_end` is when the label became known (close of
the exit bar), for purging in walk-forward splits; in the dataset's labels `exit_index` counts
bars from the signal bar to the exit bar (1 .. horizon_bars). The content hash covers every value
and
name, so equal hashes mean equal datasets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from cvntrade.errors import UserInputError
from cvntrade.features.gaps import (
    contiguous_runs,
    drop_reasons,
    usable_bars,
    warmup_first_index,
)
from cvntrade.features.labels import TripleBarrierLabels, triple_barrier
from cvntrade.features.technical import FEATURE_NAMES, compute_features
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
    dropped: Mapping[str, int] = field(default_factory=dict)
    """Bars of the range that are not rows, per reason (see `cvntrade.features.gaps`)."""

    def __len__(self) -> int:
        return len(self.timestamps)


def horizon_bars_for(strategy: Strategy, interval: str) -> int:
    """The strategy's horizon in bars of `interval` (it must be a whole number of bars).

    `H<hours>` and `D<days>` horizons work on any interval that divides them: `SL0.5_TP1_H4`
    on 15m, 1h or 4h bars, `SL2_TP4_D5` on 1d bars (5 bars), `SL4_TP8_D28` on 1w bars.
    """
    horizon_ms = strategy.horizon_hours * 3_600_000
    step = interval_ms(interval)
    if horizon_ms % step:
        hours = step // 3_600_000
        days = max(1, hours // 24)
        example = (
            f"D{days * 5}" if hours >= 24 else f"H{max(1, hours) * 4}"
        )  # five daily bars, or four bars of the interval
        raise UserInputError(
            f"strategy {strategy.name}: a {strategy.horizon_hours} h horizon is not a whole "
            f"number of {interval} bars; use a horizon that is a multiple of {interval}, e.g. "
            f"SL{strategy.stop_pct:g}_TP{strategy.take_pct:g}_{example}"
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
    bars = ParquetStore(data_dir).read(symbol, interval, None, end)
    first = warmup_first_index(timestamps_ms(bars), utc_ms(start))
    bars = bars.iloc[first:].reset_index(drop=True)
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
    filled = bars["filled"].to_numpy(bool)
    values = features.to_numpy()
    _, until_break = contiguous_runs(ms, step)
    in_range = np.ones(len(ms), dtype=bool) if start is None else ms >= utc_ms(start)
    keep = (
        in_range
        & labels.labelable
        & usable_bars(ms, filled, values, step)
        & (until_break >= horizon)
    )
    rows = np.flatnonzero(keep)
    dropped = drop_reasons(ms, filled, values, step, horizon, in_range & ~keep)
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
        dropped=dropped,
    )


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
