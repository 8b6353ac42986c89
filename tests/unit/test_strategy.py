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
