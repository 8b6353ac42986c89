"""build_dataset: aligned features and labels, warm-up and trailing bars dropped, stable hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.features import (
    LOOKBACK_BARS,
    build_dataset,
    compute_features,
    dataset_from_bars,
    horizon_bars_for,
    triple_barrier,
)
from cvntrade.market import ParquetStore, generate_market
from cvntrade.strategy import Strategy

STRATEGY = Strategy.parse("SL0.5_TP1_H4")


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    market = generate_market(
        ["ETHUSDC"], pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-21"), seed=11
    )
    return market.frames["ETHUSDC"]


def test_rows_skip_warmup_and_the_trailing_horizon(bars: pd.DataFrame) -> None:
    data = dataset_from_bars(bars, symbol="ETHUSDC", strategy=STRATEGY, interval="1h")
    assert data.horizon_bars == 4
    assert len(data) == len(bars) - (LOOKBACK_BARS - 1) - 4
    assert data.timestamps[0] == bars["timestamp"].to_numpy()[LOOKBACK_BARS - 1]
    assert data.timestamps[-1] == bars["timestamp"].to_numpy()[len(bars) - 5]
    assert (data.labels.label >= 0).all()
    assert data.features.notna().all().all()


def test_rows_hold_the_features_and_labels_of_their_own_bar(bars: pd.DataFrame) -> None:
    data = dataset_from_bars(bars, symbol="ETHUSDC", strategy=STRATEGY, interval="1h")
    features = compute_features(bars)
    labels = triple_barrier(bars["open"], bars["high"], bars["low"], bars["close"], 0.5, 1.0, 4)
    position = {t: i for i, t in enumerate(bars["timestamp"].to_numpy())}
    for row in (0, 17, len(data) - 1):
        bar = position[data.timestamps[row]]
        assert data.features.iloc[row].equals(features.iloc[bar].rename(row))
        assert data.labels.label[row] == labels.label[bar]
        assert data.labels.exit_index[row] == labels.exit_index[bar] - bar
        exit_bar = labels.exit_index[bar]
        assert data.label_end[row] == bars["timestamp"].to_numpy()[exit_bar] + np.timedelta64(
            1, "h"
        )


def test_content_hash_is_stable_and_sensitive(bars: pd.DataFrame) -> None:
    first = dataset_from_bars(bars, symbol="ETHUSDC", strategy=STRATEGY, interval="1h")
    again = dataset_from_bars(bars.copy(), symbol="ETHUSDC", strategy=STRATEGY, interval="1h")
    assert first.content_hash == again.content_hash
    nudged = bars.copy()
    nudged.loc[200, "volume"] *= 1.000001
    changed = dataset_from_bars(nudged, symbol="ETHUSDC", strategy=STRATEGY, interval="1h")
    assert changed.content_hash != first.content_hash
    other = dataset_from_bars(
        bars, symbol="ETHUSDC", strategy=Strategy.parse("SL1_TP2_H8"), interval="1h"
    )
    assert other.content_hash != first.content_hash


def test_filled_bars_and_bars_near_gaps_are_not_rows(bars: pd.DataFrame) -> None:
    with_hole = bars.drop(index=range(250, 252)).reset_index(drop=True)
    data = dataset_from_bars(with_hole, symbol="ETHUSDC", strategy=STRATEGY, interval="1h")
    stamps = bars["timestamp"].to_numpy()
    kept = set(data.timestamps)
    assert stamps[249] not in kept and stamps[246] not in kept  # horizon would cross the gap
    assert stamps[245] in kept
    assert stamps[252 + LOOKBACK_BARS - 2] not in kept  # lookback would cross the gap
    assert stamps[252 + LOOKBACK_BARS - 1] in kept
    flagged = bars.copy()
    flagged.loc[300, "filled"] = True
    assert stamps[300] not in set(
        dataset_from_bars(flagged, symbol="ETHUSDC", strategy=STRATEGY, interval="1h").timestamps
    )


def test_build_dataset_reads_the_store_with_warmup_and_never_labels_past_end(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    ParquetStore(tmp_path).write("ETHUSDC", "1h", bars, source="synthetic")
    start, end = pd.Timestamp("2024-03-10"), pd.Timestamp("2024-03-15")
    data = build_dataset("ETHUSDC", "SL0.5_TP1_H4", start, end, data_dir=tmp_path)
    assert data.timestamps[0] == np.datetime64("2024-03-10T00:00")
    assert data.timestamps[-1] == np.datetime64("2024-03-14T19:00")
    assert data.label_end.max() <= np.datetime64("2024-03-15T00:00")
    reference = dataset_from_bars(bars, symbol="ETHUSDC", strategy=STRATEGY, interval="1h")
    index = np.searchsorted(reference.timestamps, data.timestamps)
    assert np.array_equal(reference.features.to_numpy()[index], data.features.to_numpy())


def test_horizon_must_be_whole_bars_and_missing_series_are_named(tmp_path: Path) -> None:
    assert horizon_bars_for(STRATEGY, "15m") == 16
    with pytest.raises(UserInputError, match="whole number"):
        horizon_bars_for(Strategy.parse("SL1_TP1_H2"), "4h")
    with pytest.raises(NotFoundError, match="BTCUSDC"):
        build_dataset(
            "BTCUSDC",
            STRATEGY,
            pd.Timestamp("2024-01-01"),
            pd.Timestamp("2024-02-01"),
            data_dir=tmp_path,
        )
