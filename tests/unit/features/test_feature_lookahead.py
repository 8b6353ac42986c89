"""Features of bar t use only bars up to t: bit-identical with or without any later bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvntrade.features import FEATURE_NAMES, LOOKBACK_BARS, compute_features
from cvntrade.market import generate_market


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    market = generate_market(
        ["BTCUSDC"],
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-02-01"),
        seed=3,
        regime_shift_at=pd.Timestamp("2024-01-20"),
    )
    return market.frames["BTCUSDC"]


def _bits(frame: pd.DataFrame) -> np.ndarray:
    return frame.to_numpy(np.float64).view(np.int64)


@pytest.mark.parametrize("cut", [0, 1, 5, LOOKBACK_BARS - 1, LOOKBACK_BARS, 200, 451, 743])
def test_features_up_to_t_are_bit_identical_without_later_bars(
    bars: pd.DataFrame, cut: int
) -> None:
    full = compute_features(bars)
    truncated = compute_features(bars.iloc[: cut + 1].reset_index(drop=True))
    assert np.array_equal(_bits(full.iloc[: cut + 1]), _bits(truncated))


def test_features_up_to_t_ignore_arbitrary_changes_to_later_bars(bars: pd.DataFrame) -> None:
    cut = 300
    rng = np.random.default_rng(0)
    future = bars.copy()
    scale = rng.uniform(0.5, 2.0, len(bars) - cut - 1)
    for column in ("open", "high", "low", "close", "volume"):
        future.loc[cut + 1 :, column] = future.loc[cut + 1 :, column].to_numpy() * scale
    before = compute_features(bars).iloc[: cut + 1]
    after = compute_features(future).iloc[: cut + 1]
    assert np.array_equal(_bits(before), _bits(after))
    assert (
        not compute_features(bars).iloc[cut + 1 :].equals(compute_features(future).iloc[cut + 1 :])
    )


def test_changing_bar_t_changes_its_features(bars: pd.DataFrame) -> None:
    changed = bars.copy()
    changed.loc[300, ["close", "high"]] = changed.loc[300, ["close", "high"]] * 1.01
    assert not np.array_equal(
        _bits(compute_features(bars).iloc[[300]]), _bits(compute_features(changed).iloc[[300]])
    )


def test_features_are_complete_after_the_lookback_and_bounded(bars: pd.DataFrame) -> None:
    features = compute_features(bars)
    assert tuple(features.columns) == FEATURE_NAMES
    assert features.iloc[LOOKBACK_BARS - 1 :].notna().all().all()
    assert features.iloc[: LOOKBACK_BARS - 1]["dist_sma_96"].isna().all()
    assert features["rsi_14"].dropna().between(-1, 1).all()
    assert features["close_location"].between(0, 1).all()


def test_features_depend_only_on_the_lookback_window(bars: pd.DataFrame) -> None:
    start = 137
    full = compute_features(bars)
    later_start = compute_features(bars.iloc[start:].reset_index(drop=True))
    rows = slice(start + LOOKBACK_BARS - 1, None)
    assert np.array_equal(_bits(full.iloc[rows]), _bits(later_start.iloc[LOOKBACK_BARS - 1 :]))
