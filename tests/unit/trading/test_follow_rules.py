"""The store-following engine's rules: where it starts, which bars a poll may trade."""

from __future__ import annotations

import datetime as dt

import numpy as np

from cvntrade.stopping import StopFlag
from cvntrade.trading.engine import SymbolBook
from cvntrade.trading.follow import idle, start_ms_for, tradable_stop
from cvntrade.trading.persistence import StatusRow

HOUR_MS = 3_600_000
T0 = dt.datetime(2025, 2, 1)
T0_MS = int((T0 - dt.datetime(1970, 1, 1)).total_seconds() * 1000)


def _row(symbol: str, last_bar: dt.datetime | None) -> StatusRow:
    return StatusRow("e", symbol, "S", "m", 1, "binary", False, "paper", T0, last_bar, None)


def _book(bars: int, cursor: int) -> SymbolBook:
    return SymbolBook(
        symbol="BTCUSDC",
        times_ms=T0_MS + HOUR_MS * np.arange(bars, dtype=np.int64),
        ohlc=np.ones((bars, 4)),
        features=np.zeros((bars, 1)),
        valid=np.ones(bars, dtype=bool),
        step_ms=HOUR_MS,
        cursor=cursor,
    )


def test_a_new_engine_starts_at_since() -> None:
    assert start_ms_for({}, T0, HOUR_MS) == T0_MS
    assert start_ms_for({"BTCUSDC": _row("BTCUSDC", None)}, T0, HOUR_MS) == T0_MS


def test_a_checkpoint_wins_over_since_and_the_earliest_symbol_sets_the_start() -> None:
    saved = {
        "BTCUSDC": _row("BTCUSDC", T0 - dt.timedelta(hours=10)),
        "ETHUSDC": _row("ETHUSDC", T0 - dt.timedelta(hours=3)),
    }
    later = T0 + dt.timedelta(days=30)  # e.g. a restart whose --since defaults to now
    assert start_ms_for(saved, later, HOUR_MS) == T0_MS - 9 * HOUR_MS


def test_only_closed_bars_are_tradable() -> None:
    book = _book(bars=10, cursor=2)
    # bar 5 opens at T0+5h and closes at T0+6h: at T0+6h it is closed, at T0+6h-1ms it is not
    assert tradable_stop(book, T0_MS + 6 * HOUR_MS, None) == 6
    assert tradable_stop(book, T0_MS + 6 * HOUR_MS - 1, None) == 5
    assert tradable_stop(book, T0_MS + 100 * HOUR_MS, None) == 10


def test_a_poll_catches_up_at_most_bars_per_poll_and_never_goes_back() -> None:
    book = _book(bars=10, cursor=2)
    assert tradable_stop(book, T0_MS + 100 * HOUR_MS, 3) == 5
    book.cursor = 9
    assert tradable_stop(book, T0_MS + 100 * HOUR_MS, 3) == 10
    assert tradable_stop(book, T0_MS, 3) == 9  # nothing closed after the cursor: stay


def test_the_stop_flag_is_a_signal_handler_and_cuts_an_idle_wait_short() -> None:
    stop = StopFlag()
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 3:
            stop.set(15, None)  # as signal.signal calls it: (signum, frame)

    idle(stop, 3600.0, nap)
    assert stop.is_set() and stop.signals == 1
    assert len(naps) == 3 and max(naps) <= 0.2
