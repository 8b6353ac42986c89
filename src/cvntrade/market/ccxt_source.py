"""Fetch OHLCV bars from any ccxt exchange (optional extra `live`), page by page.

The exchange is passed in as anything with ccxt's `fetch_ohlcv(symbol, timeframe, since, limit)`,
so tests replay recorded responses (`RecordedExchange`) and never touch the network. ccxt's own
errors are translated here: a bad symbol or argument is a `UserInputError`, a network or exchange
outage a `DependencyError`. The bar still in progress (close time after `now`) is never stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from cvntrade.errors import DependencyError, UserInputError
from cvntrade.market.schema import interval_ms, utc_ms
from cvntrade.strategy import parse_symbol

DEFAULT_PAGE_LIMIT = 1000
MAX_PAGES = 10_000


class OhlcvExchange(Protocol):
    """The part of a ccxt exchange we use."""

    def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
    ) -> list[list[float]]:
        """Candles `[ms, open, high, low, close, volume]` from `since`, at most `limit` of them."""
        ...


@dataclass
class RecordedExchange:
    """Replays recorded `fetch_ohlcv` calls in order; an unrecorded call is a test failure.

    The recording is JSON: `{"exchange": ..., "calls": [{"symbol", "timeframe", "since",
    "limit", "response": [[ms, o, h, l, c, v], ...]}, ...]}`.
    """

    calls: list[dict[str, Any]]
    position: int = field(default=0)

    @classmethod
    def from_file(cls, path: Path) -> RecordedExchange:
        """Load a recording written by hand or by `record_calls`."""
        try:
            payload = json.loads(path.read_text())
            return cls(calls=list(payload["calls"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserInputError(f"{path}: not a recorded exchange session: {exc}") from None

    def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
    ) -> list[list[float]]:
        """Return the next recorded response after checking the request matches the recording."""
        if self.position >= len(self.calls):
            raise AssertionError(f"unrecorded fetch_ohlcv call #{self.position + 1} since={since}")
        call = self.calls[self.position]
        asked = {"symbol": symbol, "timeframe": timeframe, "since": since, "limit": limit}
        expected = {key: call[key] for key in asked}
        if asked != expected:
            raise AssertionError(f"fetch_ohlcv call #{self.position + 1}: {asked} != {expected}")
        self.position += 1
        response: list[list[float]] = call["response"]
        return response


def store_symbol(market_symbol: str) -> str:
    """`BTC/USDC` (ccxt unified spot symbol) → `BTCUSDC` (our symbol); derivatives are refused."""
    if ":" in market_symbol or market_symbol.count("/") != 1:
        raise UserInputError(
            f"invalid market symbol {market_symbol!r}: expected a spot pair such as BTC/USDC"
        )
    return parse_symbol(market_symbol.replace("/", "").upper())


def fetch_bars(
    exchange: OhlcvExchange,
    market_symbol: str,
    *,
    interval: str,
    since: pd.Timestamp,
    until: pd.Timestamp,
    page_limit: int = DEFAULT_PAGE_LIMIT,
    on_page: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """All closed bars with `since <= open time < until`, as an unvalidated OHLCV frame.

    Pages are requested from the last bar seen + 1 interval until a page is empty or reaches
    `until` (exchanges may cap the page size below `page_limit`); overlapping candles are
    de-duplicated (last seen wins). `until` should be
    at most "now": bars whose close is after `until` are dropped as possibly still in progress.
    """
    step = interval_ms(interval)
    cursor, stop = utc_ms(since), utc_ms(until)
    rows: dict[int, list[float]] = {}
    for _ in range(MAX_PAGES):
        page = _call(exchange, market_symbol, interval, cursor, page_limit)
        fresh = [c for c in page if cursor <= int(c[0])]
        for candle in fresh:
            rows[int(candle[0])] = [float(v) for v in candle[1:6]]
        if on_page:
            on_page(len(fresh))
        if not fresh:
            break
        cursor = max(int(c[0]) for c in fresh) + step
        if cursor >= stop:
            break
    stamps = np.array(sorted(t for t in rows if t + step <= stop and t >= utc_ms(since)), np.int64)
    values = np.array([rows[int(t)] for t in stamps], dtype=np.float64).reshape(-1, 5)
    return pd.DataFrame(
        {
            "timestamp": stamps.astype("datetime64[ms]"),
            "open": values[:, 0],
            "high": values[:, 1],
            "low": values[:, 2],
            "close": values[:, 3],
            "volume": values[:, 4],
        }
    )


def connect(exchange_id: str) -> OhlcvExchange:
    """A ccxt exchange object (rate-limited, public endpoints only) for `exchange_id`."""
    try:
        import ccxt
    except ImportError:
        raise UserInputError(
            "fetching needs ccxt: install the extra with `pip install 'cvntrade[live]'`"
        ) from None
    if exchange_id not in ccxt.exchanges:
        raise UserInputError(f"unknown exchange {exchange_id!r} (ccxt knows {len(ccxt.exchanges)})")
    exchange: OhlcvExchange = getattr(ccxt, exchange_id)({"enableRateLimit": True})
    return exchange


def _call(
    exchange: OhlcvExchange, market_symbol: str, interval: str, since: int, limit: int
) -> list[list[float]]:
    try:
        return exchange.fetch_ohlcv(market_symbol, interval, since, limit)
    except Exception as exc:
        raise _translate(exc, market_symbol) from exc


def _translate(exc: Exception, market_symbol: str) -> Exception:
    """ccxt errors → our tree, by class name so the core never imports ccxt."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"BadSymbol", "BadRequest", "ArgumentsRequired", "NotSupported"}:
        return UserInputError(f"exchange refused {market_symbol!r}: {exc}")
    if names & {"NetworkError", "ExchangeError", "ExchangeNotAvailable", "RateLimitExceeded"}:
        return DependencyError(f"exchange unavailable while fetching {market_symbol}: {exc}")
    return exc
