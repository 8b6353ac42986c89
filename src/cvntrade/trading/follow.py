"""The paper engine as a long-running service on the market store (`cvntrade trade serve`).

`trade paper` trades a fixed range of stored bars and ends; `trade live` polls an exchange over
the network. The service in between is what `cvntrade up` runs: it trades the bars of the local
market store (`CVN_HOME/data`, filled by `data synth`, `data import-binance`, `data fetch` or the
Airflow DAG) as they become tradable — closed (close time <= now) and after the engine's
checkpoint — then waits `poll_every_s` and looks again, publishing a heartbeat at every poll.
It works offline, and a synthetic store that extends into the future is traded bar by bar as
time passes.

It is the production paper engine (`PaperEngine`, `ProductionSink`): trade_journal
(`source='engine'`), predictions and engine_status with a checkpoint per symbol, all committed
per block. A stop request (SIGTERM, Ctrl-C: the CLI sets a `StopFlag`) is honoured between two
committed blocks, never inside one, and ends with a last heartbeat of mode `stopped`; a restart
with the same engine id resumes right after the checkpoint (the `--since` of a new engine only
applies when it has none).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cvntrade.clock import Clock, utc_now
from cvntrade.features import warmup_first_index
from cvntrade.market import ParquetStore
from cvntrade.market.schema import interval_ms, timestamps_ms
from cvntrade.market.store import read_bars
from cvntrade.stopping import StopFlag
from cvntrade.trading.engine import (
    REPLAY_BLOCK_BARS,
    SIGNAL,
    EngineReport,
    PaperEngine,
    SymbolBook,
    load_book,
)
from cvntrade.trading.persistence import StatusRow
from cvntrade.trading.service import EngineSetup, build_engine, refuse_when_halted

STOP_CHECK_S = 0.2
"""Longest an idle engine sleeps before looking at its stop flag again, seconds."""


@dataclass(frozen=True, slots=True)
class FollowOptions:
    """How the service trades: where a new engine starts, how often it looks, how fast it
    catches up (`bars_per_poll` bars per symbol per poll at most; None: all tradable bars)."""

    since: dt.datetime
    poll_every_s: float
    bars_per_poll: int | None = None
    block_bars: int = REPLAY_BLOCK_BARS


def _epoch_ms(value: dt.datetime) -> int:
    return int((value - dt.datetime(1970, 1, 1)).total_seconds() * 1000)


def start_ms_for(saved: Mapping[str, StatusRow], since: dt.datetime, step_ms: int) -> int:
    """Where the engine starts: right after its earliest checkpoint, else at `since`.

    A checkpoint always wins over `since`, so a restarted service (whose default `since` is
    "now") picks up the positions and bars it left, whatever time it is.
    """
    resume = [
        _epoch_ms(row.last_bar_time) + step_ms
        for row in saved.values()
        if row.last_bar_time is not None
    ]
    return min(resume) if resume else _epoch_ms(since)


def tradable_stop(book: SymbolBook, now_ms: int, bars_per_poll: int | None) -> int:
    """Index after the last bar this poll may trade: closed by `now_ms`, and at most
    `bars_per_poll` bars after the book's cursor."""
    closed = int(np.searchsorted(book.times_ms, now_ms - book.step_ms, side="right"))
    stop = closed if bars_per_poll is None else min(closed, book.cursor + bars_per_poll)
    return max(book.cursor, stop)


def store_signature(
    store: ParquetStore, symbols: Sequence[str], interval: str
) -> tuple[object, ...]:
    """Which files hold the symbols' bars, with their sizes and change times: a new value
    means new bars may have landed (reloading the books costs a feature computation)."""
    entries: list[object] = []
    for symbol in symbols:
        directory = store.dataset_dir(symbol, interval)
        for path in sorted(directory.rglob("*.parquet")) if directory.is_dir() else []:
            stat = path.stat()
            entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


def load_books(setup: EngineSetup, store: ParquetStore, start_ms: int) -> list[SymbolBook]:
    """Every stored bar of each symbol from the feature warm-up before `start_ms` onwards
    (including bars not closed yet: `tradable_stop` keeps the engine from trading them)."""
    books = []
    for symbol in setup.symbols:
        bars = read_bars(store, symbol, setup.interval)
        first = warmup_first_index(timestamps_ms(bars), start_ms)
        books.append(load_book(symbol, bars.iloc[first:].reset_index(drop=True), setup.interval))
    return books


def idle(stop: StopFlag, seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait up to `seconds`, in short naps, returning early once a stop is requested."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
        sleep(min(STOP_CHECK_S, remaining))


def run_follow(
    setup: EngineSetup,
    *,
    data_dir: Path,
    options: FollowOptions,
    stop: StopFlag,
    now: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    on_poll: Callable[[int, PaperEngine], None] | None = None,
) -> EngineReport:
    """Trade the store's bars as they become tradable until `stop` is set or the halt is on.

    See the module docstring. Refuses to start while halted (exit 5); a symbol without stored
    bars or without a champion is refused at start (exit 2). Returns the rows inserted.
    """
    refuse_when_halted(setup.db)
    engine = build_engine(setup, "paper")
    store = ParquetStore(data_dir)
    step_ms = interval_ms(setup.interval)
    start_ms = start_ms_for(engine.sink.checkpoints(setup.engine_id), options.since, step_ms)
    signature: tuple[object, ...] | None = None
    books: list[SymbolBook] = []
    bars = trades = predictions = polls = 0
    stopped_by: str | None = None
    while not stop.is_set():
        current = store_signature(store, setup.symbols, setup.interval)
        if current != signature:
            books = load_books(setup, store, start_ms)
            engine.resume(books, start_ms)  # the committed checkpoint is the in-memory state
            signature = current
        engine.cache.check()
        now_ms = _epoch_ms(now())
        stops = {b.symbol: tradable_stop(b, now_ms, options.bars_per_poll) for b in books}
        advanced = engine.advance(
            books, stops, block_bars=options.block_bars, should_stop=stop.is_set
        )
        if advanced.bars == 0:
            engine.flush(books)  # heartbeat: alive, serving, checkpoint unchanged
        bars, trades = bars + advanced.bars, trades + advanced.trades
        predictions, polls = predictions + advanced.predictions, polls + 1
        if on_poll is not None:
            on_poll(polls, engine)
        if advanced.stopped_by is None and advanced.bars == 0 and engine.sink.flags().halt:
            stopped_by = "halt"
        stopped_by = advanced.stopped_by or stopped_by
        if stopped_by is not None:
            break
        idle(stop, options.poll_every_s, sleep)
    engine.stop(books)
    return EngineReport(
        bars,
        trades,
        predictions,
        stopped_by or SIGNAL,
        dict(engine.versions),
        engine.skipped,
    )


__all__: Sequence[str] = [
    "FollowOptions",
    "StopFlag",
    "idle",
    "load_books",
    "run_follow",
    "start_ms_for",
    "store_signature",
    "tradable_stop",
]
