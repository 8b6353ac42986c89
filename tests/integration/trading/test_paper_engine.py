"""The production paper engine on stored bars: trades, resume, rollback, kill switch, halt."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from trading_support import STRATEGY, SYMBOLS, TRAIN_END, BoosterModel

from cvntrade.db import create_db_engine, upgrade
from cvntrade.db.tables import engine_status, predictions, trade_journal
from cvntrade.errors import TradingHaltedError, UserInputError
from cvntrade.features import EXIT_REASONS, compute_features, triple_barrier
from cvntrade.market import ParquetStore
from cvntrade.registry import MlflowRegistry
from cvntrade.strategy import model_name
from cvntrade.trading.engine import Costs
from cvntrade.trading.flags import set_flag
from cvntrade.trading.service import EngineSetup, rollback_switch, run_paper

REPLAY_START = TRAIN_END
REPLAY_END = dt.datetime(2025, 3, 14)
COSTS = Costs(fees_pct=0.1, slippage_pct=0.02)


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
        costs=COSTS,
        poll_s=3600.0,
        engine_id="test-engine",
    )


def _journal(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(select(trade_journal).order_by(trade_journal.c.trade_id), conn)


def _expected_trades(market_dir: Path, symbol: str, model: BoosterModel) -> list[tuple]:
    """Independent of the engine: walk triple-barrier labels with the model's probabilities."""
    bars = ParquetStore(market_dir).read(symbol, "1h")
    features = compute_features(bars).to_numpy()
    valid = np.isfinite(features).all(axis=1)
    probs = np.full(len(bars), np.nan)
    probs[valid] = model.predict_proba(features[valid])
    labels = triple_barrier(
        bars["open"],
        bars["high"],
        bars["low"],
        bars["close"],
        STRATEGY.stop_pct,
        STRATEGY.take_pct,
        STRATEGY.horizon_hours,
    )
    times = bars["timestamp"].to_numpy()
    in_range = (times >= np.datetime64(REPLAY_START)) & (times < np.datetime64(REPLAY_END))
    trades, next_allowed = [], 0
    for t in np.flatnonzero(in_range):
        if t < next_allowed or not probs[t] >= model.threshold:
            continue
        exit_index = int(labels.exit_index[t])
        if labels.label[t] < 0 or not in_range[exit_index]:
            break
        entry_time = pd.Timestamp(times[t + 1]).to_pydatetime()
        trades.append(
            (
                entry_time,
                EXIT_REASONS[int(labels.exit_reason[t])],
                round(float(labels.gross_return_pct[t]) - 0.12, 9),
            )
        )
        next_allowed = exit_index
    return trades


def test_replay_trades_equal_the_label_walk(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    report = run_paper(
        _setup(engine, registry, loader), data_dir=market_dir, start=REPLAY_START, end=REPLAY_END
    )
    journal = _journal(engine)
    assert report.trades == len(journal) > 10
    assert set(journal["source"]) == {"engine"}
    for symbol in SYMBOLS:
        ours = journal[journal["crypto_symbol"] == symbol].sort_values("entry_time")
        expected = _expected_trades(market_dir, symbol, loader(model_name(symbol, STRATEGY), 2))
        assert len(expected) >= 5
        got = [
            (t.entry_time.to_pydatetime(), t.exit_reason, round(t.realized_pnl_pct, 9))
            for t in ours.itertuples()
        ]
        # the engine may close one more trade whose horizon ends inside the range
        assert got[: len(expected)] == expected
        assert len(got) - len(expected) in (0, 1)
        assert set(ours["model_version"]) == {2}
        assert set(ours["model_loss_function"]) == {"focal"}
    with engine.connect() as conn:
        n_predictions = conn.execute(select(func.count()).select_from(predictions)).scalar_one()
    assert (
        n_predictions == report.predictions == len(SYMBOLS) * 24 * (REPLAY_END - REPLAY_START).days
    )


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_range_already_traded_is_refused_and_nothing_is_written(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    setup = _setup(engine, registry, loader)
    run_paper(setup, data_dir=market_dir, start=REPLAY_START, end=REPLAY_END)
    before, n_predictions = _journal(engine), _count(engine, predictions)
    with pytest.raises(UserInputError, match=r"already traded .* --engine-id"):
        run_paper(setup, data_dir=market_dir, start=REPLAY_START, end=REPLAY_END)
    pd.testing.assert_frame_equal(_journal(engine), before)
    assert _count(engine, predictions) == n_predictions


def test_the_engine_resumes_after_its_checkpoint(
    engine: Engine,
    registry: MlflowRegistry,
    loader: Callable[..., BoosterModel],
    market_dir: Path,
    tmp_path: Path,
) -> None:
    """Two consecutive ranges of one engine id = one run over both (positions carried over)."""
    middle = dt.datetime(2025, 3, 1, 5)
    setup = _setup(engine, registry, loader)
    first = run_paper(setup, data_dir=market_dir, start=REPLAY_START, end=middle)
    with engine.connect() as conn:
        checkpoints = conn.execute(select(engine_status.c.last_bar_time)).scalars().all()
    assert checkpoints == [middle - dt.timedelta(hours=1)] * len(SYMBOLS)
    second = run_paper(setup, data_dir=market_dir, start=REPLAY_START, end=REPLAY_END)
    assert first.bars + second.bars == len(SYMBOLS) * 24 * (REPLAY_END - REPLAY_START).days
    split = _journal(engine)

    other = create_db_engine(f"sqlite:///{tmp_path / 'whole.db'}")
    upgrade(other)
    whole = run_paper(
        _setup(other, registry, loader), data_dir=market_dir, start=REPLAY_START, end=REPLAY_END
    )
    assert first.trades + second.trades == whole.trades == len(split)
    assert first.predictions + second.predictions == whole.predictions
    pd.testing.assert_frame_equal(
        split.drop(columns=["id"]).reset_index(drop=True),
        _journal(other).drop(columns=["id"]).reset_index(drop=True),
    )
    other.dispose()


def test_rollback_mid_replay_switches_version_from_then_on(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    setup = _setup(engine, registry, loader)
    switch_at = dt.datetime(2025, 3, 1, 12)
    run_paper(
        setup,
        data_dir=market_dir,
        start=REPLAY_START,
        end=REPLAY_END,
        switch=rollback_switch(setup, switch_at, actor="rehearsal", reason="drill"),
    )
    journal = _journal(engine)
    before = journal[journal["entry_time"] <= switch_at]
    after = journal[journal["entry_time"] > switch_at]
    assert len(before) > 0 and len(after) > 0
    assert set(before["model_version"]) == {2} and set(before["model_loss_function"]) == {"focal"}
    assert set(after["model_version"]) == {1} and set(after["model_loss_function"]) == {"binary"}
    for symbol in SYMBOLS:
        assert registry.aliases(model_name(symbol, STRATEGY))["champion"] == 1


def test_kill_switch_blocks_entries_and_halt_refuses_to_start(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    setup = _setup(engine, registry, loader)
    set_flag(engine, "kill_switch", True, reason="test", actor="ops")
    report = run_paper(setup, data_dir=market_dir, start=REPLAY_START, end=REPLAY_END)
    assert report.trades == 0 and report.predictions > 0
    set_flag(engine, "halt", True, reason="ADR-71 test", actor="ops")
    with pytest.raises(TradingHaltedError, match="ADR-71 test"):
        run_paper(setup, data_dir=market_dir, start=REPLAY_START, end=REPLAY_END)


def test_counts_are_rows_written_not_records_computed(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    """A second engine id over the same bars computes everything again but writes nothing."""
    first = run_paper(
        _setup(engine, registry, loader), data_dir=market_dir, start=REPLAY_START, end=REPLAY_END
    )
    other = dataclasses.replace(_setup(engine, registry, loader), engine_id="other")
    second = run_paper(other, data_dir=market_dir, start=REPLAY_START, end=REPLAY_END)
    assert first.trades > 0 and first.skipped == 0
    assert (second.bars, second.trades, second.predictions) == (first.bars, 0, 0)
    assert second.skipped == first.trades + first.predictions
    assert len(_journal(engine)) == first.trades
