"""One rule for gaps: usable bars counted in bars, drop reasons, warm-up across a weekend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cvntrade.features import (
    LOOKBACK_BARS,
    build_dataset,
    compute_features,
    dataset_from_bars,
    usable_bars,
)
from cvntrade.features.gaps import contiguous_runs, drop_reasons
from cvntrade.market import ParquetStore, generate_market, timestamps_ms
from cvntrade.strategy import Strategy

HOUR = 3_600_000
WEEK_BARS = 120  # Sunday 22:00 to Friday 21:00 UTC: an FX trading week
WEEKS = 4
H4 = Strategy.parse("SL0.5_TP1_H4")


def fx_frame(weeks: int = WEEKS) -> pd.DataFrame:
    """Hand-built FX-like hourly bars: 120 bars a week, a 48 h closure between weeks."""
    first_open = pd.Timestamp("2024-01-07 22:00")  # a Sunday
    stamps = [
        first_open + pd.Timedelta(weeks=w) + pd.Timedelta(hours=h)
        for w in range(weeks)
        for h in range(WEEK_BARS)
    ]
    n = len(stamps)
    rng = np.random.default_rng(3)
    close = 1.10 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.concatenate(([1.10], close[:-1]))
    return pd.DataFrame(
        {
            "timestamp": np.array(stamps, dtype="datetime64[ms]"),
            "open": open_,
            "high": np.maximum(open_, close) * 1.0005,
            "low": np.minimum(open_, close) * 0.9995,
            "close": close,
            "volume": rng.uniform(100, 200, n),
            "filled": np.zeros(n, dtype=bool),
        }
    )


def test_usable_bars_need_a_full_window_inside_one_trading_week() -> None:
    frame = fx_frame()
    ms = timestamps_ms(frame)
    features = compute_features(frame).to_numpy()
    usable = usable_bars(ms, frame["filled"].to_numpy(), features, HOUR)
    position_in_week = np.arange(len(frame)) % WEEK_BARS
    assert np.array_equal(usable, position_in_week >= LOOKBACK_BARS - 1)
    # the features themselves are finite across the weekend: only the rule rejects those bars
    assert np.isfinite(features[WEEK_BARS + 5]).all() and not usable[WEEK_BARS + 5]


def test_filled_bars_are_never_usable() -> None:
    frame = fx_frame(1)
    frame.loc[110, "filled"] = True
    ms = timestamps_ms(frame)
    usable = usable_bars(ms, frame["filled"].to_numpy(), compute_features(frame).to_numpy(), HOUR)
    assert not usable[110] and usable[109] and usable[111]


def test_dataset_drops_are_counted_per_reason() -> None:
    data = dataset_from_bars(fx_frame(), symbol="EURUSD", strategy=H4, interval="1h")
    per_week = WEEK_BARS - (LOOKBACK_BARS - 1) - 4  # full window, and 4 bars of horizon after
    assert len(data) == WEEKS * per_week
    assert data.dropped == {
        "warm_up": LOOKBACK_BARS - 1,
        "gap": (WEEKS - 1) * (LOOKBACK_BARS - 1) + (WEEKS - 1) * 4,
        "horizon": 4,
        "filled": 0,
        "invalid_features": 0,
    }
    assert len(data) + sum(data.dropped.values()) == WEEKS * WEEK_BARS
    # no row's label runs across a weekend: every exit is within 4 bars = 4 hours
    held = data.label_end - data.timestamps
    assert held.max() <= np.timedelta64(5 * HOUR, "ms")


def test_warm_up_is_counted_in_bars_across_the_weekend(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write("EURUSD", "1h", fx_frame(), source="test")
    start = pd.Timestamp("2024-01-14 22:00")  # first bar of week 2, right after a closure
    data = build_dataset("EURUSD", H4, start, pd.Timestamp("2024-02-10"), data_dir=tmp_path)
    # history before `start` was read, so the bars of week 2 whose window crosses the weekend
    # are counted as gaps, not as warm-up
    assert data.dropped["warm_up"] == 0
    assert data.dropped["gap"] == 3 * (LOOKBACK_BARS - 1) + 2 * 4  # weeks 2-4; 2 horizons
    assert data.timestamps[0] == np.datetime64(start + pd.Timedelta(hours=LOOKBACK_BARS - 1))


def test_contiguous_runs_count_bars_on_both_sides() -> None:
    ms = np.array([0, 1, 2, 5, 6, 9], dtype=np.int64) * HOUR
    since, until = contiguous_runs(ms, HOUR)
    assert since.tolist() == [1, 2, 3, 1, 2, 1]
    assert until.tolist() == [2, 1, 0, 1, 0, 0]


def test_drop_reasons_name_filled_before_anything_else() -> None:
    frame = fx_frame(1)
    frame.loc[3, "filled"] = True
    ms = timestamps_ms(frame)
    counts = drop_reasons(
        ms,
        frame["filled"].to_numpy(),
        compute_features(frame).to_numpy(),
        HOUR,
        4,
        np.arange(len(frame)) < 10,
    )
    assert counts["filled"] == 1 and counts["warm_up"] == 9


def test_synthetic_weekday_session_has_the_same_rule() -> None:
    market = generate_market(
        ["EURUSD"], pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-01"), session="weekdays"
    )
    frame = market.frames["EURUSD"]
    data = dataset_from_bars(frame, symbol="EURUSD", strategy=H4, interval="1h")
    ms = timestamps_ms(frame)
    usable = usable_bars(ms, frame["filled"].to_numpy(), compute_features(frame).to_numpy(), HOUR)
    rows = set(timestamps_ms(pd.DataFrame({"timestamp": data.timestamps})).tolist())
    assert rows <= set(ms[usable].tolist())
    assert data.dropped["gap"] > 0
