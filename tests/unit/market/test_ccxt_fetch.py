"""Fetching through ccxt, tested only against recorded responses: pagination, the bar still in
progress, error translation. No network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cvntrade.errors import DependencyError, UserInputError
from cvntrade.market import RecordedExchange, fetch_bars, store_symbol, validate_ohlcv

RECORDINGS = Path(__file__).resolve().parents[2] / "data" / "ccxt"
SINCE = pd.Timestamp("2024-01-01")
NOW = pd.Timestamp("2024-01-02T23:30")  # when the session was recorded


def test_pages_are_followed_and_the_bar_in_progress_is_dropped() -> None:
    exchange = RecordedExchange.from_file(RECORDINGS / "binance_BTCUSDC_1h_paged.json")
    pages: list[int] = []
    frame = fetch_bars(
        exchange,
        "BTC/USDC",
        interval="1h",
        since=SINCE,
        until=NOW,
        page_limit=20,
        on_page=pages.append,
    )
    assert exchange.position == len(exchange.calls) == 3
    assert pages == [20, 20, 8]
    assert len(frame) == 47
    assert frame["timestamp"].iloc[-1] == np.datetime64("2024-01-02T22:00")
    assert validate_ohlcv(frame, source="fetch", interval="1h", max_gap_bars=0).gaps == ()


def test_same_session_in_one_page() -> None:
    exchange = RecordedExchange.from_file(RECORDINGS / "binance_BTCUSDC_1h.json")
    frame = fetch_bars(exchange, "BTC/USDC", interval="1h", since=SINCE, until=NOW)
    assert len(frame) == 47 and exchange.position == 1


def test_an_unexpected_request_fails_the_replay() -> None:
    exchange = RecordedExchange.from_file(RECORDINGS / "binance_BTCUSDC_1h.json")
    with pytest.raises(AssertionError, match="since"):
        fetch_bars(
            exchange, "BTC/USDC", interval="1h", since=SINCE + pd.Timedelta(hours=1), until=NOW
        )


class _Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        raise self.error


def test_ccxt_errors_are_translated_at_the_boundary() -> None:
    import ccxt

    with pytest.raises(UserInputError, match="refused"):
        fetch_bars(
            _Failing(ccxt.BadSymbol("binance does not have market symbol BTC/XYZ")),
            "BTC/XYZ",
            interval="1h",
            since=SINCE,
            until=NOW,
        )
    with pytest.raises(DependencyError, match="unavailable"):
        fetch_bars(
            _Failing(ccxt.NetworkError("timeout")),
            "BTC/USDC",
            interval="1h",
            since=SINCE,
            until=NOW,
        )


def test_market_symbols_map_to_store_symbols() -> None:
    assert store_symbol("BTC/USDC") == "BTCUSDC"
    for bad in ("BTC/USDC:USDC", "BTCUSDC", "BTC/ZZZ"):
        with pytest.raises(UserInputError):
            store_symbol(bad)
