"""The paper trading engine: champion inference per bar, positions, journal and heartbeat.

Stored-bar runs (paper engine, backtests) and live trading share `SymbolBook` (one symbol's
positions, decisions and records); they differ only in where bars come from and, through the
engine's `Sink` (`cvntrade.trading.sinks`), where records go: the production tables or one
backtest run's tables. Every closed trade carries the model version and loss function of the
model that *opened* it. Restarting a production engine is safe: each commit holds the block's
trades, predictions and, per symbol, a checkpoint (last bar, position state); a restarted engine
with the same engine id resumes right after its checkpoint, and trade ids and prediction keys
make any repeated write a no-op (and it is not counted: reports count rows inserted).

Bars are scored only when `cvntrade.features.usable_bars` says so — the rule the training
dataset applies — and a position is closed (`data_gap`) rather than held across a gap in the
data longer than the strategy's horizon.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Engine

from cvntrade.clock import Clock, utc_now
from cvntrade.errors import DataError, UserInputError
from cvntrade.features import compute_features, horizon_bars_for, usable_bars
from cvntrade.features.technical import LOOKBACK_BARS
from cvntrade.journal.records import Trade
from cvntrade.market.schema import interval_ms, timestamps_ms
from cvntrade.strategy import Strategy, strategy_label
from cvntrade.trading.champion import ChampionCache
from cvntrade.trading.flags import TradingFlags
from cvntrade.trading.persistence import STOPPED, PredictionRow, StatusRow, ms_to_datetime
from cvntrade.trading.positions import (
    Bar,
    BookState,
    ClosedPosition,
    ModelStamp,
    OpenPosition,
    PendingEntry,
    gap_exit,
    signal,
    step_bar,
)
from cvntrade.trading.sinks import ProductionSink, Sink

log = logging.getLogger(__name__)
REPLAY_BLOCK_BARS = 24
SIGNAL = "signal"
"""`stopped_by` of a service engine asked to stop (SIGTERM, Ctrl-C) between two blocks."""


@dataclass(frozen=True, slots=True)
class Costs:
    """Round-trip fees and slippage, percent (from settings)."""

    fees_pct: float
    slippage_pct: float


@dataclass(frozen=True, slots=True)
class ScheduledSwitch:
    """A champion switch to perform when replay time reaches `at` (rollback rehearsal)."""

    at: dt.datetime
    action: Callable[[], None]


@dataclass(frozen=True, slots=True)
class EngineReport:
    """What a run did: bars processed, rows written, why it stopped, versions served.

    `trades` and `predictions` are rows inserted; `skipped` counts records the engine computed
    but found already stored (same trade id or prediction key), written by an earlier run.
    """

    bars: int
    trades: int
    predictions: int
    stopped_by: str | None
    versions: dict[str, list[int]]
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class Advanced:
    """What one `PaperEngine.advance` did: bars processed, rows inserted, why it stopped early."""

    bars: int
    trades: int
    predictions: int
    stopped_by: str | None


@dataclass(slots=True)
class SymbolBook:
    """One symbol's series, features, position state and unflushed records."""

    symbol: str
    times_ms: npt.NDArray[np.int64]
    ohlc: npt.NDArray[np.float64]
    features: npt.NDArray[np.float64]
    valid: npt.NDArray[np.bool_]
    step_ms: int
    state: BookState = field(default_factory=BookState)
    cursor: int = 0
    trades: list[Trade] = field(default_factory=list)
    predictions: list[PredictionRow] = field(default_factory=list)

    def bar(self, index: int) -> Bar:
        """Bar `index` of the series."""
        o, h, lo, c = self.ohlc[index]
        start = int(self.times_ms[index])
        return Bar(index, start, start + self.step_ms, float(o), float(h), float(lo), float(c))


def checkpoint_state(book: SymbolBook) -> dict[str, Any] | None:
    """The book's state as JSON, with bar indexes stored as open times (indexes are per run)."""
    times = book.times_ms
    if book.state.pending is not None:
        p = book.state.pending
        return {
            "pending": {
                "signal_ms": int(times[p.signal_index]),
                "probability": p.probability,
                "model": [p.model.name, p.model.version, p.model.loss_function],
            }
        }
    if book.state.position is not None:
        o = book.state.position
        return {
            "position": {
                "signal_ms": int(times[o.signal_index]),
                "entry_ms": o.entry_ms,
                "entry_price": o.entry_price,
                "stop": o.stop,
                "take": o.take,
                "probability": o.probability,
                "model": [o.model.name, o.model.version, o.model.loss_function],
            }
        }
    return None


def restore_state(book: SymbolBook, saved: dict[str, Any] | None, horizon: int) -> BookState:
    """Inverse of `checkpoint_state` for this book's bars."""
    if not saved:
        return BookState()
    if "pending" in saved:
        p = saved["pending"]
        return BookState(
            pending=PendingEntry(
                _index(book, p["signal_ms"]), float(p["probability"]), ModelStamp(*p["model"])
            )
        )
    o = saved["position"]
    signal_index = _index(book, o["signal_ms"])
    return BookState(
        position=OpenPosition(
            signal_index=signal_index,
            entry_index=_index(book, o["entry_ms"]),
            entry_ms=int(o["entry_ms"]),
            entry_price=float(o["entry_price"]),
            stop=float(o["stop"]),
            take=float(o["take"]),
            last_index=signal_index + horizon,
            probability=float(o["probability"]),
            model=ModelStamp(*o["model"]),
        )
    )


def _index(book: SymbolBook, open_ms: int) -> int:
    index = int(np.searchsorted(book.times_ms, open_ms))
    if index >= len(book.times_ms) or int(book.times_ms[index]) != open_ms:
        raise DataError(
            f"{book.symbol}: checkpoint bar {ms_to_datetime(open_ms)} is not in the data"
        )
    return index


def load_book(symbol: str, bars: pd.DataFrame, interval: str) -> SymbolBook:
    """Build a symbol's book from canonical OHLCV bars (features computed once, no look-ahead).

    `valid` marks the bars the model may score: `usable_bars`, the training dataset's rule.
    """
    features = compute_features(bars).to_numpy(np.float64)
    times, step = timestamps_ms(bars), interval_ms(interval)
    return SymbolBook(
        symbol=symbol,
        times_ms=times,
        ohlc=bars[["open", "high", "low", "close"]].to_numpy(np.float64),
        features=features,
        valid=usable_bars(times, bars["filled"].to_numpy(bool), features, step),
        step_ms=step,
    )


class PaperEngine:
    """Trades each symbol's champion on a strategy; writes trades, predictions and heartbeats."""

    def __init__(
        self,
        *,
        db: Engine,
        cache: ChampionCache,
        strategy: Strategy,
        interval: str,
        costs: Costs,
        engine_id: str,
        mode: str,
        clock: Clock = utc_now,
        sink: Sink | None = None,
    ) -> None:
        self.db = db
        self.sink: Sink = ProductionSink(db) if sink is None else sink
        self.cache = cache
        self.strategy = strategy
        self.interval = interval
        self.horizon = horizon_bars_for(strategy, interval)
        self.horizon_ms = strategy.horizon_hours * 3_600_000
        self.label = strategy_label(strategy, interval)
        self.costs = costs
        self.engine_id = engine_id
        self.mode = mode
        self.clock = clock
        self.versions: dict[str, list[int]] = {}
        self.skipped = 0

    # -- shared per-bar logic -------------------------------------------------------------

    def process_bars(self, book: SymbolBook, indexes: range, flags: TradingFlags) -> int:
        """Run bars `indexes` of one symbol with the model serving now; returns bars processed."""
        served = self.cache.served(book.symbol)
        self.versions.setdefault(book.symbol, [])
        if served.stamp.version not in self.versions[book.symbol]:
            self.versions[book.symbol].append(served.stamp.version)
        rows = [i for i in indexes if book.valid[i]]
        probabilities = dict(
            zip(rows, served.model.predict_proba(book.features[rows]) if rows else [], strict=True)
        )
        stopped = flags.stopped
        threshold = served.model.threshold
        for i in indexes:
            bar = book.bar(i)
            if i > 0 and bar.open_ms - int(book.times_ms[i - 1]) - book.step_ms > self.horizon_ms:
                closed = gap_exit(book.state, book.bar(i - 1))
                if closed.closed is not None:
                    book.trades.append(self._trade(book.symbol, closed.closed))
                book.state = closed.state
            outcome = step_bar(book.state, bar, self.strategy, self.horizon, stopped=stopped)
            if outcome.closed is not None:
                book.trades.append(self._trade(book.symbol, outcome.closed))
            probability = probabilities.get(i)
            if probability is not None:
                book.predictions.append(
                    PredictionRow(
                        book.symbol,
                        self.label,
                        ms_to_datetime(bar.close_ms),
                        served.stamp.name,
                        served.stamp.version,
                        served.stamp.loss_function,
                        float(probability),
                    )
                )
            book.state = signal(
                outcome,
                bar,
                None if probability is None else float(probability),
                threshold,
                served.stamp,
                stopped=stopped,
            )
        return len(indexes)

    def flush(self, books: Sequence[SymbolBook]) -> tuple[int, int]:
        """Commit pending trades, predictions and one heartbeat per symbol to the sink.

        Returns the trades and predictions inserted; records already stored add to `skipped`.
        """
        trades = [t for b in books for t in b.trades]
        predictions = [p for b in books for p in b.predictions]
        now = self.clock()
        status = []
        for book in books:
            served = self.cache.served(book.symbol)
            last_bar = (
                ms_to_datetime(int(book.times_ms[book.cursor - 1])) if book.cursor > 0 else None
            )
            status.append(
                StatusRow(
                    self.engine_id,
                    book.symbol,
                    self.label,
                    served.stamp.name,
                    served.stamp.version,
                    served.stamp.loss_function,
                    served.stale,
                    self.mode,
                    now,
                    last_bar,
                    checkpoint_state(book),
                )
            )
        written = self.sink.write(trades, predictions, status)
        self.skipped += len(trades) + len(predictions) - sum(written)
        for book in books:
            book.trades.clear()
            book.predictions.clear()
        return written

    def stop(self, books: Sequence[SymbolBook]) -> None:
        """Publish a last heartbeat saying this engine no longer serves (mode `stopped`).

        The runbook's propagation wait then does not wait for it; a crashed engine instead
        simply stops sending heartbeats and ages out.
        """
        mode, self.mode = self.mode, STOPPED
        try:
            self.flush(books)
        finally:
            self.mode = mode

    def _trade(self, symbol: str, closed: ClosedPosition) -> Trade:
        position = closed.position
        entry_time = ms_to_datetime(position.entry_ms)
        gross = closed.gross_return_pct
        return Trade(
            trade_id=f"{symbol}:{self.label}:{entry_time:%Y%m%dT%H%M}",
            crypto_symbol=symbol,
            strategy=self.label,
            model_name=position.model.name,
            model_version=position.model.version,
            model_loss_function=position.model.loss_function,
            entry_time=entry_time,
            exit_time=ms_to_datetime(closed.exit_ms),
            entry_price=position.entry_price,
            exit_price=closed.exit_price,
            exit_reason=closed.exit_reason,
            fees_pct=self.costs.fees_pct,
            realized_pnl_pct=gross - self.costs.fees_pct - self.costs.slippage_pct,
            probability=position.probability,
            source="engine",
        )

    # -- replay ---------------------------------------------------------------------------

    def replay(
        self,
        books: Sequence[SymbolBook],
        start: dt.datetime,
        end: dt.datetime,
        *,
        switch: ScheduledSwitch | None = None,
        block_bars: int = REPLAY_BLOCK_BARS,
        on_block: Callable[[int], None] | None = None,
    ) -> EngineReport:
        """Trade stored bars with open time in `[start, end)`, after the sink's checkpoint.

        Refuses (exit 2, nothing written) when this engine id's checkpoints show the whole
        range was already traded: re-running it would write nothing and report nothing true.
        """
        start_ms, end_ms = _ms(start), _ms(end)
        resumed = self.resume(books, start_ms)
        cursors = {b.symbol: b.cursor for b in books}
        stops = {b.symbol: int(np.searchsorted(b.times_ms, end_ms)) for b in books}
        if resumed and all(cursors[b.symbol] >= stops[b.symbol] for b in books):
            checkpoint_at = max(resumed.values())
            raise UserInputError(
                f"engine {self.engine_id!r} already traded {', '.join(sorted(resumed))} up to "
                f"{checkpoint_at:%Y-%m-%dT%H:%MZ} (its checkpoint): nothing to write; pass "
                "--from after it, another --engine-id, or run a backtest with "
                "`cvntrade trade replay`"
            )
        advanced = self.advance(
            books, stops, switch=switch, block_bars=block_bars, on_block=on_block
        )
        self.stop(books)
        return EngineReport(
            advanced.bars,
            advanced.trades,
            advanced.predictions,
            advanced.stopped_by,
            dict(self.versions),
            self.skipped,
        )

    def advance(
        self,
        books: Sequence[SymbolBook],
        stops: dict[str, int],
        *,
        switch: ScheduledSwitch | None = None,
        block_bars: int = REPLAY_BLOCK_BARS,
        on_block: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Advanced:
        """Trade each book from its cursor up to bar index `stops[symbol]`, block by block.

        Each block of `block_bars` bars (all symbols, in time order) is committed with its
        checkpoints before the next begins, so stopping between blocks loses nothing. Stops
        early when the halt is on (`stopped_by='halt'`) or, after a committed block, when
        `should_stop()` says so (`stopped_by='signal'`: SIGTERM/Ctrl-C of a service).
        """
        totals = [0, 0, 0]
        stopped_by: str | None = None
        pending_switch = switch
        cursors = {b.symbol: b.cursor for b in books}
        while any(cursors[b.symbol] < stops[b.symbol] for b in books):
            block_start_ms = min(
                int(b.times_ms[cursors[b.symbol]])
                for b in books
                if cursors[b.symbol] < stops[b.symbol]
            )
            if pending_switch is not None and _ms(pending_switch.at) <= block_start_ms:
                pending_switch.action()
                self.cache.refresh()
                pending_switch = None
            self.cache.check()
            flags = self.sink.flags()
            block_end_ms = block_start_ms + block_bars * books[0].step_ms
            if pending_switch is not None:
                block_end_ms = min(block_end_ms, _ms(pending_switch.at))
            for book in books:
                first = cursors[book.symbol]
                last = max(
                    first,
                    min(stops[book.symbol], int(np.searchsorted(book.times_ms, block_end_ms))),
                )
                totals[0] += self.process_bars(book, range(first, last), flags)
                cursors[book.symbol] = book.cursor = last
            trades, predictions = self.flush(books)
            totals[1] += trades
            totals[2] += predictions
            if on_block is not None:
                on_block(totals[0])
            if flags.halt:
                stopped_by = "halt"
                break
            if should_stop is not None and should_stop():
                stopped_by = SIGNAL
                break
        return Advanced(totals[0], totals[1], totals[2], stopped_by)

    def resume(self, books: Sequence[SymbolBook], start_ms: int) -> dict[str, dt.datetime]:
        """Continue after this engine's last checkpoint, or start flat at `start`.

        Returns the symbols resumed from a checkpoint, with the checkpoint's last bar.
        """
        saved = self.sink.checkpoints(self.engine_id)
        resumed: dict[str, dt.datetime] = {}
        for book in books:
            row = saved.get(book.symbol)
            book.cursor = int(np.searchsorted(book.times_ms, start_ms))
            book.state = BookState()
            if row is not None and row.last_bar_time is not None:
                resume_ms = _ms(row.last_bar_time) + book.step_ms
                if resume_ms >= start_ms:  # a checkpoint in (or just before) this range
                    book.cursor = int(np.searchsorted(book.times_ms, resume_ms))
                    book.state = restore_state(book, row.state, self.horizon)
                    resumed[book.symbol] = row.last_bar_time
        return resumed


def _ms(value: dt.datetime) -> int:
    return int((value - dt.datetime(1970, 1, 1)).total_seconds() * 1000)


WARMUP_TIME_FACTOR = 3
"""Live trading fetches this many times LOOKBACK_BARS intervals of history: enough for
LOOKBACK_BARS bars when up to two thirds of the time has no bars (FX weekends: 48 of 168 h)."""


def warmup_start(start: dt.datetime, interval: str) -> dt.datetime:
    """Where to start fetching bars so the first traded bar can have complete features.

    Only live trading uses it (it must ask the exchange for a time range); replay and training
    count the warm-up in bars (`cvntrade.features.warmup_first_index`).
    """
    lookback_ms = interval_ms(interval) * LOOKBACK_BARS * WARMUP_TIME_FACTOR
    return start - dt.timedelta(milliseconds=lookback_ms)
