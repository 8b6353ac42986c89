"""The paper engine as a service on the market store (`trade serve`, what `cvntrade up` runs).

"No journal row lost" is checked against an uninterrupted `run_paper` over the same bars (the
reference, on its own database): at a stop, every trade the reference entered up to the
engine's checkpoint is either in trade_journal (identical row) or is the position open in the
checkpoint; after a restart the journal equals the reference, each trade once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from trading_support import END, STRATEGY, SYMBOLS, TRAIN_END, BoosterModel

from cvntrade.db import create_db_engine, upgrade
from cvntrade.db.tables import trade_journal
from cvntrade.errors import TradingHaltedError
from cvntrade.market import ParquetStore
from cvntrade.registry import MlflowRegistry
from cvntrade.stopping import StopFlag
from cvntrade.trading.engine import Costs, PaperEngine
from cvntrade.trading.flags import set_flag
from cvntrade.trading.follow import FollowOptions, load_books, run_follow
from cvntrade.trading.persistence import StatusRow, checkpoints
from cvntrade.trading.service import EngineSetup, build_engine, run_paper

FROM = TRAIN_END
LAST_BAR = END - dt.timedelta(hours=1)
HOUR = dt.timedelta(hours=1)
ENGINE_ID = "serve-test"


def _setup(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel]
) -> EngineSetup:
    return EngineSetup(
        db=engine,
        registry=registry,
        loader=loader,
        symbols=SYMBOLS,
        strategy=STRATEGY,
        interval="1h",
        costs=Costs(0.1, 0.02),
        poll_s=3600.0,
        engine_id=ENGINE_ID,
    )


def _journal(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(select(trade_journal).order_by(trade_journal.c.trade_id), conn)
    return frame.drop(columns=["id"]).reset_index(drop=True)


def _reference(
    tmp_path: Path,
    registry: MlflowRegistry,
    loader: Callable[..., BoosterModel],
    data_dir: Path,
) -> pd.DataFrame:
    """One uninterrupted production paper run over [FROM, END) on its own database."""
    other = create_db_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    upgrade(other)
    run_paper(_setup(other, registry, loader), data_dir=data_dir, start=FROM, end=END)
    journal = _journal(other)
    other.dispose()
    return journal


def _open_entry(row: StatusRow) -> dt.datetime | None:
    """Entry time of the position open in a checkpoint (None: flat or only pending)."""
    position = (row.state or {}).get("position")
    if position is None:
        return None
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(position["entry_ms"]))


def assert_nothing_lost_at_stop(
    journal: pd.DataFrame, reference: pd.DataFrame, saved: dict[str, StatusRow]
) -> None:
    """Every reference trade entered by the checkpoint is journaled (same row) or still open
    in the checkpoint; nothing entered after the checkpoint is journaled."""
    for symbol, row in saved.items():
        assert row.last_bar_time is not None
        ours = journal[journal["crypto_symbol"] == symbol]
        theirs = reference[
            (reference["crypto_symbol"] == symbol) & (reference["entry_time"] <= row.last_bar_time)
        ]
        open_entry = _open_entry(row)
        expected = theirs[theirs["entry_time"] != open_entry] if open_entry else theirs
        pd.testing.assert_frame_equal(ours.reset_index(drop=True), expected.reset_index(drop=True))
        if open_entry is not None:
            assert open_entry in set(theirs["entry_time"]), "the open position is a real trade"
            assert open_entry not in set(ours["entry_time"])


def _stop_when_caught_up(engine: Engine, stop: StopFlag, last_bar: dt.datetime) -> object:
    def on_poll(polls: int, _engine: PaperEngine) -> None:
        saved = checkpoints(engine, ENGINE_ID)
        if saved and all(r.last_bar_time == last_bar for r in saved.values()):
            stop.set()

    return on_poll


def test_stopped_between_polls_it_resumes_to_the_uninterrupted_journal(
    engine: Engine,
    registry: MlflowRegistry,
    loader: Callable[..., BoosterModel],
    market_dir: Path,
    tmp_path: Path,
) -> None:
    setup = _setup(engine, registry, loader)
    stop = StopFlag()
    options = FollowOptions(since=FROM, poll_every_s=0.0, bars_per_poll=24, block_bars=6)

    def stop_after_five(polls: int, _engine: PaperEngine) -> None:
        if polls == 5:
            stop.set()

    first = run_follow(
        setup, data_dir=market_dir, options=options, stop=stop, on_poll=stop_after_five
    )
    assert first.stopped_by == "signal"
    assert first.bars == 5 * 24 * len(SYMBOLS)
    journal = _journal(engine)
    assert first.trades == len(journal) > 0
    saved = checkpoints(engine, ENGINE_ID)
    assert {r.mode for r in saved.values()} == {"stopped"}
    assert {r.last_bar_time for r in saved.values()} == {FROM + 5 * 24 * HOUR - HOUR}
    reference = _reference(tmp_path, registry, loader, market_dir)
    assert len(reference) > len(journal)
    assert_nothing_lost_at_stop(journal, reference, saved)

    # A restart (its --since now much later) resumes after the checkpoint, to the end.
    again = StopFlag()
    later = FollowOptions(since=END + 100 * HOUR, poll_every_s=0.0)
    second = run_follow(
        setup,
        data_dir=market_dir,
        options=later,
        stop=again,
        on_poll=_stop_when_caught_up(engine, again, LAST_BAR),  # type: ignore[arg-type]
    )
    assert first.bars + second.bars == len(SYMBOLS) * 24 * (END - FROM).days
    assert first.trades + second.trades == len(reference)
    pd.testing.assert_frame_equal(_journal(engine), reference)


def test_new_bars_landing_in_the_store_are_traded_and_an_unclosed_bar_waits(
    engine: Engine,
    registry: MlflowRegistry,
    loader: Callable[..., BoosterModel],
    market_dir: Path,
    tmp_path: Path,
) -> None:
    cut = dt.datetime(2025, 3, 1)
    later = cut + dt.timedelta(days=1)
    source, store = ParquetStore(market_dir), ParquetStore(tmp_path / "market")
    bars = {s: source.read(s, "1h") for s in SYMBOLS}
    for symbol, frame in bars.items():  # stored up to and including the bar opening at `cut`
        store.write(symbol, "1h", frame[frame["timestamp"] <= cut], source="synthetic")
    clock = [cut + dt.timedelta(minutes=30)]  # the bar at `cut` is still in progress
    stop = StopFlag()
    seen: list[set[dt.datetime | None]] = []

    def on_poll(polls: int, _engine: PaperEngine) -> None:
        seen.append({r.last_bar_time for r in checkpoints(engine, ENGINE_ID).values()})
        if polls == 1:
            for symbol, frame in bars.items():
                newer = frame[(frame["timestamp"] > cut) & (frame["timestamp"] < later)]
                store.write(symbol, "1h", newer, source="synthetic")
            clock[0] = later + dt.timedelta(days=1)
        elif polls == 2:
            stop.set()

    run_follow(
        _setup(engine, registry, loader),
        data_dir=store.root,
        options=FollowOptions(since=FROM, poll_every_s=0.0),
        stop=stop,
        now=lambda: clock[0],
        on_poll=on_poll,
    )
    assert seen == [{cut - HOUR}, {later - HOUR}]
    reference = _reference(tmp_path, registry, loader, market_dir)  # the same bars, to END
    assert_nothing_lost_at_stop(_journal(engine), reference, checkpoints(engine, ENGINE_ID))


def test_a_stop_request_ends_the_block_in_progress_and_nothing_after_it(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    setup = _setup(engine, registry, loader)
    paper = build_engine(setup, "paper")
    books = load_books(setup, ParquetStore(market_dir), _ms(FROM))
    paper.resume(books, _ms(FROM))
    stops = {b.symbol: len(b.times_ms) for b in books}
    advanced = paper.advance(books, stops, block_bars=6, should_stop=lambda: True)
    assert (advanced.bars, advanced.stopped_by) == (6 * len(SYMBOLS), "signal")
    assert {r.last_bar_time for r in checkpoints(engine, ENGINE_ID).values()} == {FROM + 5 * HOUR}


def test_the_halt_refuses_a_start_and_stops_a_running_service(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    setup = _setup(engine, registry, loader)
    stop = StopFlag()

    def halt_on_first_poll(polls: int, _engine: PaperEngine) -> None:
        if polls == 1:
            set_flag(engine, "halt", True, reason="ADR-71 drill", actor="ops")
        if polls > 3:
            stop.set()  # would mean the halt was ignored

    report = run_follow(
        setup,
        data_dir=market_dir,
        options=FollowOptions(since=END, poll_every_s=0.0),
        stop=stop,
        on_poll=halt_on_first_poll,
    )
    assert report.stopped_by == "halt" and not stop.is_set()
    with pytest.raises(TradingHaltedError, match="ADR-71 drill"):
        run_follow(
            setup,
            data_dir=market_dir,
            options=FollowOptions(since=END, poll_every_s=0.0),
            stop=StopFlag(),
        )


def _ms(value: dt.datetime) -> int:
    return int((value - dt.datetime(1970, 1, 1)).total_seconds() * 1000)
