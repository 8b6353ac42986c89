"""The rows a training run reads: a dataset of one symbol and strategy from the bar store."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pandas as pd

from cvntrade.errors import UserInputError
from cvntrade.features import Dataset, dataset_from_bars, warmup_first_index
from cvntrade.features.label_rates import refuse_degenerate
from cvntrade.market import ParquetStore, interval_ms, timestamps_ms, utc_ms
from cvntrade.market.store import read_bars
from cvntrade.strategy import Strategy
from cvntrade.training.simulation import TradeOutcomes
from cvntrade.training.walk_forward import as_epoch_ms

TimeLike = dt.datetime | pd.Timestamp | str


def as_utc_timestamp(value: TimeLike | None, field: str) -> pd.Timestamp | None:
    """A naive-UTC `pd.Timestamp` from a datetime or ISO text (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        from cvntrade.clock import parse_utc

        value = parse_utc(value, field=field)
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def load_dataset(
    store: ParquetStore,
    symbol: str,
    strategy: Strategy,
    *,
    interval: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    recent_days: float | None = None,
) -> Dataset:
    """The dataset of `[start, end)` (default: everything stored), or of its last `recent_days`.

    Raises `UserInputError` naming the commands that load bars when the store has none for the
    symbol, or when the range holds no labelled rows.
    """
    step = pd.Timedelta(milliseconds=interval_ms(interval))
    bars = read_bars(store, symbol, interval, end)
    if start is not None:  # the warm-up is counted in bars, so it reaches across gaps
        bars = bars.iloc[warmup_first_index(timestamps_ms(bars), utc_ms(start)) :]
        bars = bars.reset_index(drop=True)
    if end is None:
        end = pd.Timestamp(bars["timestamp"].iloc[-1]) + step if len(bars) else None
    if recent_days is not None and end is not None:
        window_start = end - pd.Timedelta(days=recent_days)
        start = window_start if start is None else max(start, window_start)
    dataset = dataset_from_bars(
        bars, symbol=symbol, strategy=strategy, interval=interval, start=start, end=end
    )
    if len(dataset) == 0:
        raise UserInputError(
            f"no labelled {interval} rows for {symbol} {strategy.name} in "
            f"[{start or 'first bar'}, {end or 'last bar'}): widen the range or load more bars"
        )
    return dataset


def refuse_degenerate_labels(store: ParquetStore, dataset: Dataset) -> None:
    """Stop (exit 2) when the dataset's labels are (nearly) one class; see `label_rates`."""
    from cvntrade.features.label_rates import label_balance

    if not label_balance(dataset.labels.label).degenerate:
        return
    bars = read_bars(store, dataset.symbol, dataset.interval)
    refuse_degenerate(
        dataset.symbol, dataset.interval, dataset.strategy, dataset.labels.label, bars
    )


def trade_outcomes(dataset: Dataset, cost_pct: float) -> TradeOutcomes:
    """Signal close, exit time and gross return of every row, with round-trip costs."""
    step = interval_ms(dataset.interval)
    return TradeOutcomes(
        signal_close_ms=as_epoch_ms(dataset.timestamps) + step,
        exit_ms=as_epoch_ms(dataset.label_end),
        gross_return_pct=np.asarray(dataset.labels.gross_return_pct, dtype=np.float64),
        cost_pct=float(cost_pct),
    )


def feature_matrix(dataset: Dataset) -> npt.NDArray[np.float64]:
    """The features as a float64 matrix, columns in the dataset's feature order."""
    return dataset.features.to_numpy(dtype=np.float64)


def binary_labels(dataset: Dataset) -> npt.NDArray[np.float64]:
    """Labels as float64 0/1."""
    return np.asarray(dataset.labels.label, dtype=np.float64)
