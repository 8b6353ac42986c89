"""validate_ohlcv: every schema rule rejects with the source and row named; gaps are handled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvntrade.errors import UserInputError
from cvntrade.market import validate_ohlcv


def _frame(n: int = 6, start: str = "2024-01-01") -> pd.DataFrame:
    close = 100.0 + np.arange(n, dtype=float)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range(start, periods=n, freq="h"),
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n, 10.0),
        }
    )


def test_a_clean_frame_passes_in_canonical_form() -> None:
    checked = validate_ohlcv(_frame(), source="f.csv", interval="1h")
    assert list(checked.frame.columns) == [
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "filled",
    ]
    assert checked.frame["timestamp"].dtype == np.dtype("datetime64[ms]")
    assert checked.gaps == () and not checked.frame["filled"].any()


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("close", np.nan, "row 3: close is not a finite number"),
        ("volume", np.inf, "row 3: volume is not a finite number"),
        ("low", 0.0, "row 3: low 0.0 is not > 0"),
        ("open", -1.0, "row 3: open -1.0 is not > 0"),
        ("high", 101.0, "row 3: high 101.0 < max(open, close) 102.0"),
        ("low", 101.8, "row 3: low 101.8 > min(open, close) 101.5"),
        ("volume", -2.0, "row 3: volume -2.0 is < 0"),
    ],
)
def test_bad_values_name_the_source_and_row(column: str, value: float, message: str) -> None:
    frame = _frame()
    frame.loc[2, column] = value
    with pytest.raises(UserInputError, match=r"^bad\.csv: ") as info:
        validate_ohlcv(frame, source="bad.csv", interval="1h")
    assert message in str(info.value)
    assert str(info.value).endswith("nothing was stored")


def test_duplicate_and_decreasing_timestamps_are_rejected() -> None:
    frame = _frame()
    frame.loc[3, "timestamp"] = frame.loc[2, "timestamp"]
    with pytest.raises(UserInputError, match=r"row 4: duplicate timestamp 2024-01-01T02:00"):
        validate_ohlcv(frame, source="s", interval="1h")
    frame = _frame()
    frame.loc[4, "timestamp"] = frame.loc[1, "timestamp"]
    with pytest.raises(UserInputError, match=r"row 5: timestamp .* is not after row 4"):
        validate_ohlcv(frame, source="s", interval="1h")


def test_wrong_frequency_is_rejected() -> None:
    frame = _frame()
    frame["timestamp"] = pd.date_range("2024-01-01", periods=6, freq="30min")
    with pytest.raises(UserInputError, match=r"row 2: .*not on the 3600s interval grid"):
        validate_ohlcv(frame, source="s", interval="1h")
    with pytest.raises(UserInputError, match="invalid interval '7h'"):
        validate_ohlcv(_frame(), source="s", interval="7h")


def test_gaps_within_tolerance_are_reported_and_optionally_filled() -> None:
    frame = _frame(8).drop(index=[3, 4]).reset_index(drop=True)
    checked = validate_ohlcv(frame, source="s", interval="1h", max_gap_bars=2)
    assert [(g.after_row, g.missing_bars) for g in checked.gaps] == [(3, 2)]
    assert len(checked.frame) == 6
    filled = validate_ohlcv(frame, source="s", interval="1h", max_gap_bars=2, fill_gaps=True)
    assert len(filled.frame) == 8 and filled.filled_bars == 2
    assert filled.frame["filled"].tolist() == [False] * 3 + [True] * 2 + [False] * 3
    inserted = filled.frame.iloc[3]
    previous_close = frame.loc[2, "close"]
    assert (inserted[["open", "high", "low", "close"]] == previous_close).all()
    assert inserted["volume"] == 0.0


def test_gaps_beyond_tolerance_are_rejected() -> None:
    frame = _frame(8).drop(index=[3, 4]).reset_index(drop=True)
    with pytest.raises(UserInputError, match=r"row 4: gap of 2 missing bar.* tolerance of 1"):
        validate_ohlcv(frame, source="s", interval="1h", max_gap_bars=1, fill_gaps=True)


def test_many_problems_are_summarised_and_missing_columns_named() -> None:
    frame = _frame(10)
    frame["close"] = np.nan
    with pytest.raises(UserInputError, match="and 5 more problem"):
        validate_ohlcv(frame, source="s", interval="1h")
    with pytest.raises(UserInputError, match=r"missing column.*volume"):
        validate_ohlcv(_frame().drop(columns="volume"), source="s", interval="1h")
    with pytest.raises(UserInputError, match="no rows"):
        validate_ohlcv(_frame().iloc[:0], source="s", interval="1h")
