"""Degenerate labels: thresholds, the label-rate grid (same rows as training), the refusal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvntrade.errors import UserInputError
from cvntrade.features import dataset_from_bars
from cvntrade.features.label_rates import (
    MIN_CLASS_ROWS,
    default_horizons,
    label_balance,
    label_rate_grid,
    refuse_degenerate,
    strategy_grid,
    suggestions,
)
from cvntrade.market import generate_market
from cvntrade.strategy import Strategy


@pytest.fixture(scope="module")
def fx_bars() -> pd.DataFrame:
    market = generate_market(
        ["EURUSD"], pd.Timestamp("2024-01-01"), pd.Timestamp("2024-05-01"), session="weekdays"
    )
    return market.frames["EURUSD"]


@pytest.mark.parametrize(
    ("rows", "positives", "degenerate"),
    [
        (1000, 0, True),
        (1000, 19, True),  # 1.9 % < 2 %
        (1000, 20, True),  # 2 %, but fewer than MIN_CLASS_ROWS positives
        (2000, 40, False),  # 2 % and 40 positives
        (2000, 1961, True),  # 98.05 % > 98 %
        (2000, 1960, False),
        (50, 25, True),  # balanced but too few of each class
        (0, 0, True),
    ],
)
def test_balance_thresholds(rows: int, positives: int, degenerate: bool) -> None:
    labels = np.zeros(rows)
    labels[:positives] = 1
    balance = label_balance(labels)
    assert balance.degenerate is degenerate
    assert MIN_CLASS_ROWS == 30


def test_grid_rates_are_those_of_the_training_rows(fx_bars: pd.DataFrame) -> None:
    grid = [Strategy.parse(s) for s in ("SL0.5_TP1_H4", "SL8_TP16_H24", "SL0.25_TP0.25_H12")]
    for strategy, rate in zip(grid, label_rate_grid(fx_bars, "1h", grid), strict=True):
        data = dataset_from_bars(fx_bars, symbol="EURUSD", strategy=strategy, interval="1h")
        assert rate.rows == len(data)
        assert rate.positives == int((data.labels.label == 1).sum())


def test_one_class_labels_are_refused_with_rate_and_fitting_barriers(
    fx_bars: pd.DataFrame,
) -> None:
    strategy = Strategy.parse("SL8_TP16_H4")  # +16 % in 4 hours: never
    data = dataset_from_bars(fx_bars, symbol="EURUSD", strategy=strategy, interval="1h")
    assert (data.labels.label == 0).all()
    with pytest.raises(UserInputError) as raised:
        refuse_degenerate("EURUSD", "1h", strategy, data.labels.label, fx_bars)
    message = str(raised.value)
    assert "positive rate 0.00%" in message and f"0 of {len(data)} rows" in message
    fits = suggestions(label_rate_grid(fx_bars, "1h", strategy_grid("1h")))
    assert fits and all(f.strategy in message for f in fits)
    assert all(0.25 <= f.rate <= 0.6 for f in fits)
    assert "data label-rates EURUSD --interval 1h" in message


def test_balanced_labels_pass(fx_bars: pd.DataFrame) -> None:
    strategy = Strategy.parse("SL0.5_TP0.5_H12")
    data = dataset_from_bars(fx_bars, symbol="EURUSD", strategy=strategy, interval="1h")
    balance = refuse_degenerate("EURUSD", "1h", strategy, data.labels.label, fx_bars)
    assert 0.02 < balance.rate < 0.98


def test_default_horizons_fit_the_interval() -> None:
    assert default_horizons("1h") == ("H4", "H12", "H24", "H72")
    assert default_horizons("8h") == ("H24", "H72")
    assert default_horizons("1d") == ("D2", "D5", "D10", "D20")
    assert default_horizons("1w") == ("D14", "D35", "D70", "D140")
    assert all(s.horizon_unit == "D" for s in strategy_grid("1d"))
