"""Binance kline CSV files written from synthetic daily bars, one file per month (e2e tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cvntrade.market import generate_market

DAY_MS = 86_400_000


def write_klines(path: Path, frame: pd.DataFrame, step_ms: int) -> Path:
    """Write bars as a headerless Binance kline CSV (as data.binance.vision publishes them)."""
    opens = frame["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    pd.DataFrame(
        {
            "open_time": opens,
            "open": frame["open"],
            "high": frame["high"],
            "low": frame["low"],
            "close": frame["close"],
            "volume": frame["volume"],
            "close_time": opens + step_ms - 1,
            "quote_volume": frame["volume"] * frame["close"],
            "count": 100,
            "taker_buy_volume": frame["volume"] / 2,
            "taker_buy_quote_volume": frame["volume"] * frame["close"] / 2,
            "ignore": 0,
        }
    ).to_csv(path, header=False, index=False)
    return path


def monthly_files(directory: Path, months: list[str]) -> list[Path]:
    """`BTCUSDC-1d-YYYY-MM.csv` files; `"2024-02-27"` stops February's file before that day."""
    bars = generate_market(
        ["BTCUSDC"], pd.Timestamp("2024-01-01"), pd.Timestamp("2024-05-01"), interval="1d"
    ).frames["BTCUSDC"]
    paths = []
    for month in months:
        part = bars[bars["timestamp"].dt.strftime("%Y-%m") == month[:7]]
        if len(month) > 7:
            part = part[part["timestamp"] < pd.Timestamp(month)]
        paths.append(write_klines(directory / f"BTCUSDC-1d-{month[:7]}.csv", part, DAY_MS))
    return paths
