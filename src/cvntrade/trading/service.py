"""Assembling an engine from settings, and the paper / backtest / live runs the CLI starts.

This is the one place that wires the registry, the model loader, the database, the market data
and the engine together (composition root), so the engine itself stays free of I/O choices.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from cvntrade.errors import NotFoundError, TradingHaltedError, UserInputError
from cvntrade.features import warmup_first_index
from cvntrade.market import ParquetStore
from cvntrade.market.ccxt_source import OhlcvExchange, fetch_bars
from cvntrade.market.schema import canonical_ohlcv, interval_ms, timestamps_ms
from cvntrade.market.store import read_bars
from cvntrade.registry import CHAMPION, MlflowRegistry, Registry, previous_non_focal, set_alias
from cvntrade.strategy import Strategy, model_name
from cvntrade.trading import backtest
from cvntrade.trading.backtest import BacktestRun
from cvntrade.trading.champion import ChampionCache, ModelLoader, TradableModel
from cvntrade.trading.engine import (
    REPLAY_BLOCK_BARS,
    Costs,
    EngineReport,
    PaperEngine,
    ScheduledSwitch,
    SymbolBook,
    load_book,
    warmup_start,
)
from cvntrade.trading.flags import read_flags
from cvntrade.trading.ids import default_engine_id, parse_symbols
from cvntrade.trading.metrics import EngineMetrics
from cvntrade.trading.positions import BookState
from cvntrade.trading.sinks import BacktestSink, ProductionSink, Sink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineSetup:
    """Everything an engine run needs, resolved from settings and options."""

    db: Engine
    registry: Registry
    loader: ModelLoader
    symbols: tuple[str, ...]
    strategy: Strategy
    interval: str
    costs: Costs
    poll_s: float
    engine_id: str
    metrics: EngineMetrics | None = None


def mlflow_loader(tracking_uri: str) -> ModelLoader:
    """Load registered versions as `ModelBundle`s (see `cvntrade.training.bundle`)."""

    def load(name: str, version: int) -> TradableModel:
        from cvntrade.training.bundle import load_bundle

        bundle = load_bundle(tracking_uri, name, version)
        # A few rows per call: threads only add OpenMP wake-up and spin costs.
        bundle.booster.set_param({"nthread": 1})
        model: TradableModel = bundle
        return model

    return load


def refuse_when_halted(db: Engine) -> None:
    """Trading must not start while the system-wide halt is on."""
    flags = read_flags(db)
    if flags.halt:
        reason = dict(flags.reasons).get("halt", "")
        raise TradingHaltedError(
            f"trading is halted (ADR-71): {reason}; lift it with `cvntrade halt off --reason …`"
        )


def build_engine(setup: EngineSetup, mode: str, sink: Sink | None = None) -> PaperEngine:
    """A paper engine trading each symbol's champion (production tables unless `sink`)."""
    names = {s: model_name(s, setup.strategy, interval=setup.interval) for s in setup.symbols}
    cache = ChampionCache(
        registry=setup.registry,
        loader=setup.loader,
        db=setup.db,
        model_names=names,
        poll_s=setup.poll_s,
    )
    for symbol in setup.symbols:
        cache.served(symbol)  # fail now, clearly, if a symbol has no champion
    return PaperEngine(
        db=setup.db,
        cache=cache,
        strategy=setup.strategy,
        interval=setup.interval,
        costs=setup.costs,
        engine_id=setup.engine_id,
        mode=mode,
        sink=ProductionSink(setup.db, metrics=setup.metrics) if sink is None else sink,
    )


def rollback_switch(
    setup: EngineSetup, at: dt.datetime, *, actor: str, reason: str
) -> ScheduledSwitch:
    """A scheduled rehearsal: at `at`, move every focal champion back to its previous binary."""

    def action() -> None:
        for symbol in setup.symbols:
            name = model_name(symbol, setup.strategy, interval=setup.interval)
            champion = setup.registry.aliases(name).get(CHAMPION)
            current = setup.registry.get_version(name, champion) if champion else None
            if current is None or current.loss_function != "focal":
                continue
            target = previous_non_focal(setup.registry, name, current.version)
            set_alias(
                setup.db,
                setup.registry,
                name=name,
                alias=CHAMPION,
                version=target.version,
                reason=reason,
                actor=actor,
            )

    return ScheduledSwitch(at, action)


def _books(
    setup: EngineSetup, data_dir: Path, start: dt.datetime, end: dt.datetime
) -> list[SymbolBook]:
    """Each symbol's stored bars for `[start, end)` plus the feature warm-up before it."""
    if end <= start:
        raise UserInputError(f"--to ({end}) must be after --from ({start})")
    store = ParquetStore(data_dir)
    books = []
    for symbol in setup.symbols:
        bars = read_bars(store, symbol, setup.interval, pd.Timestamp(end))
        first = warmup_first_index(timestamps_ms(bars), _epoch_ms(start))
        bars = bars.iloc[first:].reset_index(drop=True)  # warm-up counted in bars
        if bars.empty or int(timestamps_ms(bars)[-1]) < _epoch_ms(start):
            raise NotFoundError(f"no {setup.interval} bars for {symbol} between {start} and {end}")
        books.append(load_book(symbol, bars, setup.interval))
    return books


def run_paper(
    setup: EngineSetup,
    *,
    data_dir: Path,
    start: dt.datetime,
    end: dt.datetime,
    switch: ScheduledSwitch | None = None,
    on_block: Callable[[int], None] | None = None,
    block_bars: int = REPLAY_BLOCK_BARS,
) -> EngineReport:
    """The production paper engine over stored bars `[start, end)`, at full speed.

    Writes trade_journal (`source='engine'`), predictions and engine_status (mode `paper`),
    exactly like live paper trading; resumes after its checkpoint; refuses (exit 2) a range
    this engine id already traded.
    """
    if end <= start:
        raise UserInputError(f"--to ({end}) must be after --from ({start})")
    refuse_when_halted(setup.db)
    books = _books(setup, data_dir, start, end)
    engine = build_engine(setup, "paper")
    return engine.replay(books, start, end, switch=switch, on_block=on_block, block_bars=block_bars)


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """A finished backtest: its stored run (summary inside) and the engine's report."""

    run: BacktestRun
    report: EngineReport
    warnings: tuple[str, ...]


def run_backtest(
    setup: EngineSetup,
    *,
    data_dir: Path,
    start: dt.datetime,
    end: dt.datetime,
    actor: str,
    into_journal: bool = False,
    training_window: Callable[[str, int], tuple[dt.datetime, dt.datetime] | None] | None = None,
    on_block: Callable[[int], None] | None = None,
    block_bars: int = REPLAY_BLOCK_BARS,
) -> BacktestResult:
    """A new backtest run over stored bars `[start, end)`, stored apart from production.

    Each call records a new run (never resumes or no-ops another); `training_window(name,
    version)` gives a version's training data window, for the in-sample warning.
    """
    books = _books(setup, data_dir, start, end)
    # Built before the run is recorded, so a symbol without a champion records nothing.
    engine = build_engine(setup, "backtest", BacktestSink(setup.db, run_id=0))
    run_id = backtest.create_run(
        setup.db,
        actor=actor,
        symbols=setup.symbols,
        strategy=setup.strategy.name,
        interval=setup.interval,
        start=start,
        end=end,
        into_journal=into_journal,
    )
    engine.sink = BacktestSink(setup.db, run_id, into_journal)
    engine.engine_id = f"backtest:{run_id}"
    try:
        report = engine.replay(books, start, end, on_block=on_block, block_bars=block_bars)
    except BaseException:
        try:  # record the failure, but never mask the error that caused it
            backtest.finish_run(
                setup.db, run_id, status=backtest.FAILED, served_versions=engine.versions
            )
        except Exception:
            log.exception("backtest run %s: could not record its failure", run_id)
        raise
    windows: dict[tuple[str, int], tuple[dt.datetime, dt.datetime] | None] = {}
    if training_window is not None:
        for symbol, versions in report.versions.items():
            for version in versions:
                name = model_name(symbol, setup.strategy, interval=setup.interval)
                windows[(symbol, version)] = training_window(name, version)
    warnings = tuple(backtest.overlap_warnings(windows, start, end))
    run = backtest.finish_run(
        setup.db,
        run_id,
        status=backtest.FINISHED,
        served_versions=report.versions,
        extra={"bars": report.bars, "warnings": list(warnings)},
    )
    return BacktestResult(run, report, warnings)


def run_live(
    setup: EngineSetup,
    exchange: OhlcvExchange,
    *,
    since: dt.datetime,
    max_polls: int | None,
    poll_every_s: float,
    now: Callable[[], dt.datetime],
    sleep: Callable[[float], None] = time.sleep,
    on_poll: Callable[[int], None] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> EngineReport:
    """Paper-trade closed bars polled from an exchange until halted or `max_polls` polls."""
    refuse_when_halted(setup.db)
    engine = build_engine(setup, "live")
    step = dt.timedelta(milliseconds=interval_ms(setup.interval))
    frames: dict[str, pd.DataFrame] = {}
    cursors: dict[str, int] = {}
    states: dict[str, BookState] = {}
    totals = [0, 0, 0]
    polls = 0
    stopped_by = None
    while max_polls is None or polls < max_polls:
        polls += 1
        engine.cache.check()
        flags = engine.sink.flags()
        books: list[SymbolBook] = []
        for symbol in setup.symbols:
            frame = frames.get(symbol)
            fetch_from = (
                warmup_start(since, setup.interval)
                if frame is None
                else (frame["timestamp"].iloc[-1].to_pydatetime() + step)
            )
            fresh = fetch_bars(
                exchange,
                _market_symbol(symbol),
                interval=setup.interval,
                since=pd.Timestamp(fetch_from),
                until=pd.Timestamp(now()),
            )
            fresh = canonical_ohlcv(fresh.assign(filled=False)) if not fresh.empty else fresh
            frame = fresh if frame is None else pd.concat([frame, fresh], ignore_index=True)
            frames[symbol] = frame
            if frame.empty:
                continue
            book = load_book(symbol, frame, setup.interval)
            book.state = states.get(symbol, BookState())
            first = cursors.get(symbol, int(book.times_ms.searchsorted(_epoch_ms(since))))
            totals[0] += engine.process_bars(book, range(first, len(frame)), flags)
            cursors[symbol] = book.cursor = len(frame)
            states[symbol] = book.state
            books.append(book)
        if books:
            trades, predictions = engine.flush(books)
            totals[1] += trades
            totals[2] += predictions
        if on_poll is not None:
            on_poll(polls)
        if flags.halt:
            stopped_by = "halt"
            break
        if max_polls is None or polls < max_polls:
            _idle_until_next_poll(engine, books, poll_every_s, sleep, monotonic)
    engine.stop(books)
    return EngineReport(totals[0], totals[1], totals[2], stopped_by, dict(engine.versions))


ALIAS_CHECK_S = 0.5


def _idle_until_next_poll(
    engine: PaperEngine,
    books: Sequence[SymbolBook],
    poll_every_s: float,
    sleep: Callable[[float], None],
    monotonic: Callable[[], float],
) -> None:
    """Wait for the next exchange poll, re-checking champions every `ALIAS_CHECK_S` meanwhile.

    Bars arrive once per poll (hourly bars: a minute is fine), but a rollback must propagate
    within seconds: a swapped champion is published in a heartbeat right away.
    """
    deadline = monotonic() + poll_every_s
    while (remaining := deadline - monotonic()) > 0:
        sleep(min(ALIAS_CHECK_S, remaining))
        if engine.cache.check() and books:
            engine.flush(books)


def _market_symbol(symbol: str) -> str:
    for quote in ("USDC", "USDT", "FDUSD", "BUSD", "EUR"):
        if symbol.endswith(quote):
            return f"{symbol[: -len(quote)]}/{quote}"
    raise UserInputError(f"cannot map {symbol} to an exchange pair")


def _epoch_ms(value: dt.datetime) -> int:
    return int((value - dt.datetime(1970, 1, 1)).total_seconds() * 1000)


def default_registry(tracking_uri: str) -> Registry:
    """The MLflow registry at `tracking_uri`."""
    return MlflowRegistry(tracking_uri)


__all__: Sequence[str] = [
    "EngineSetup",
    "build_engine",
    "default_engine_id",
    "default_registry",
    "mlflow_loader",
    "parse_symbols",
    "refuse_when_halted",
    "rollback_switch",
    "run_backtest",
    "run_live",
    "run_paper",
]
