"""Market data: the OHLCV schema and its validation, the Parquet store, and the sources.

Sources: the regime-switching synthetic generator, Binance kline CSV files, and any ccxt
exchange (extra `live`). Every source produces the canonical frame of `schema`, validated
before anything is stored.
"""

from __future__ import annotations

from cvntrade.market.binance import ImportedFile, import_kline_files, read_kline_file
from cvntrade.market.ccxt_source import OhlcvExchange, RecordedExchange, fetch_bars, store_symbol
from cvntrade.market.schema import (
    OHLCV_COLUMNS,
    Gap,
    ValidatedOhlcv,
    canonical_ohlcv,
    interval_ms,
    timestamps_ms,
    utc_ms,
    validate_ohlcv,
)
from cvntrade.market.store import DatasetInfo, ParquetStore, WriteResult
from cvntrade.market.synthetic import SyntheticMarket, generate_market

__all__ = [
    "OHLCV_COLUMNS",
    "DatasetInfo",
    "Gap",
    "ImportedFile",
    "OhlcvExchange",
    "ParquetStore",
    "RecordedExchange",
    "SyntheticMarket",
    "ValidatedOhlcv",
    "WriteResult",
    "canonical_ohlcv",
    "fetch_bars",
    "generate_market",
    "import_kline_files",
    "interval_ms",
    "read_kline_file",
    "store_symbol",
    "timestamps_ms",
    "utc_ms",
    "validate_ohlcv",
]
