"""Symbols, strategies and registered model names."""

from __future__ import annotations

import pytest

from cvntrade.errors import UserInputError
from cvntrade.strategy import Strategy, model_name, parse_symbol


def test_strategy_parses_and_round_trips() -> None:
    strategy = Strategy.parse("SL0.5_TP1_H4")
    assert (strategy.stop_pct, strategy.take_pct, strategy.horizon_hours) == (0.5, 1.0, 4)
    assert strategy.name == "SL0.5_TP1_H4"
    assert Strategy.parse("SL1.25_TP2.5_H12").name == "SL1.25_TP2.5_H12"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SL0.5_TP1",
        "sl0.5_tp1_h4",
        "SL0_TP1_H4",
        "SL0.5_TP1_H0",
        "SL-1_TP1_H4",
        "SL0.5_TP1_H4.5",
    ],
)
def test_bad_strategies_are_rejected(text: str) -> None:
    with pytest.raises(UserInputError, match="invalid strategy"):
        Strategy.parse(text)


@pytest.mark.parametrize("symbol", ["BTCUSDC", "ETHUSDT", "ADAUSDC", "SHIBEUR"])
def test_good_symbols(symbol: str) -> None:
    assert parse_symbol(symbol) == symbol


@pytest.mark.parametrize("symbol", ["btcusdc", "BTC/USDC", "USDC", "BTCXYZ", "B", ""])
def test_bad_symbols(symbol: str) -> None:
    with pytest.raises(UserInputError, match="invalid symbol"):
        parse_symbol(symbol)


def test_model_name_follows_the_canonical_convention() -> None:
    assert model_name("BTCUSDC", "SL0.5_TP1_H4") == "CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4"
    assert model_name("ETHUSDC", Strategy(0.5, 1.0, 4), "LightGBM") == (
        "CVNTrade_LightGBM_ETHUSDC_SL0.5_TP1_H4"
    )


def test_day_horizons_parse_and_print_back() -> None:
    daily = Strategy.parse("SL2_TP4_D5")
    assert (daily.horizon_hours, daily.horizon_unit, daily.name) == (120, "D", "SL2_TP4_D5")
    assert Strategy.parse("SL2_TP4_H120").name == "SL2_TP4_H120"  # the spelling is kept


def test_model_names_stay_unambiguous_across_intervals() -> None:
    from cvntrade.strategy import parse_strategy_label, strategy_label

    assert model_name("BTCUSDC", "SL0.5_TP1_H4", interval="1h") == (
        "CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4"
    )
    names = {
        model_name("BTCUSDC", "SL0.5_TP1_H4", interval=i) for i in ("15m", "1h", "4h", "1M", "1m")
    }
    assert len(names) == 5
    assert model_name("BTCUSDC", "SL2_TP4_D5", interval="1d") == (
        "CVNTrade_XGBoost_BTCUSDC_SL2_TP4_D5_1d"
    )
    for interval in ("15m", "1h", "4h", "1d", "1w", "1M"):
        label = strategy_label("SL2_TP4_D5", interval)
        assert parse_strategy_label(label) == (Strategy.parse("SL2_TP4_D5"), interval)


def test_horizon_must_be_whole_bars_of_the_interval() -> None:
    from cvntrade.features import horizon_bars_for

    assert horizon_bars_for(Strategy.parse("SL2_TP4_D5"), "1d") == 5
    assert horizon_bars_for(Strategy.parse("SL0.5_TP1_H4"), "15m") == 16
    assert horizon_bars_for(Strategy.parse("SL4_TP8_D28"), "1w") == 4
    with pytest.raises(UserInputError, match=r"not a whole number of 1d bars.*SL0.5_TP1_D5"):
        horizon_bars_for(Strategy.parse("SL0.5_TP1_H4"), "1d")
