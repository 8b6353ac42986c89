"""Backtest runs: stored apart from production, a new run each time, honest counts and summary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sqlalchemy import Engine, Table, func, select
from trading_support import STRATEGY, SYMBOLS, TRAIN_END, BoosterModel

from cvntrade.audit import read_audit
from cvntrade.db.tables import (
    backtest_predictions,
    backtest_trades,
    engine_status,
    predictions,
    trade_journal,
)
from cvntrade.errors import NotFoundError
from cvntrade.registry import MlflowRegistry
from cvntrade.strategy import model_name
from cvntrade.trading.backtest import delete_run, get_run, list_runs, training_window
from cvntrade.trading.engine import Costs
from cvntrade.trading.flags import set_flag
from cvntrade.trading.service import BacktestResult, EngineSetup, run_backtest, run_paper

START, END = TRAIN_END, dt.datetime(2025, 3, 14)
BARS = len(SYMBOLS) * 24 * (END - START).days


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
        costs=Costs(fees_pct=0.1, slippage_pct=0.02),
        poll_s=3600.0,
        engine_id="prod-engine",
    )


def _backtest(setup: EngineSetup, market_dir: Path, **kwargs: object) -> BacktestResult:
    return run_backtest(
        setup,
        data_dir=market_dir,
        start=START,
        end=END,
        actor="tester",
        **kwargs,  # type: ignore[arg-type]
    )


def _table(engine: Engine, table: Table, run_id: int | None = None) -> pd.DataFrame:
    query = select(table).order_by(*table.primary_key.columns)
    if run_id is not None:
        query = query.where(table.c.run_id == run_id)
    with engine.connect() as conn:
        return pd.read_sql(query, conn)


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_rerun_after_a_new_champion_records_a_new_complete_run_and_leaves_production_alone(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    setup = _setup(engine, registry, loader)
    run_paper(setup, data_dir=market_dir, start=START, end=dt.datetime(2025, 2, 20))
    production = {t.name: _table(engine, t) for t in (trade_journal, predictions, engine_status)}
    assert len(production["trade_journal"]) > 0

    first = _backtest(setup, market_dir)
    for symbol in SYMBOLS:
        registry.set_alias(model_name(symbol, STRATEGY), "champion", 1)
    second = _backtest(setup, market_dir)

    assert second.run.id != first.run.id
    assert first.run.served_versions == {s: [2] for s in SYMBOLS}
    assert second.run.served_versions == {s: [1] for s in SYMBOLS}
    for result, version in ((first, 2), (second, 1)):
        trades = _table(engine, backtest_trades, result.run.id)
        preds = _table(engine, backtest_predictions, result.run.id)
        # every bar of the range predicted and stored, even though run 1 covered the same bars
        assert len(preds) == result.report.predictions == BARS
        assert len(trades) == result.report.trades == result.run.summary["trades"] > 0
        assert result.report.bars == result.run.summary["bars"] == BARS
        assert set(trades["model_version"]) == set(preds["model_version"]) == {version}
        assert result.run.status == "finished"
    for name, before in production.items():
        table = {t.name: t for t in (trade_journal, predictions, engine_status)}[name]
        pd.testing.assert_frame_equal(_table(engine, table), before)
    assert not any(e.startswith("backtest") for e in production["engine_status"]["engine_id"])
    assert [r.id for r in list_runs(engine)] == [second.run.id, first.run.id]


def test_summary_matches_an_independent_computation_from_the_stored_trades(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    run = _backtest(_setup(engine, registry, loader), market_dir).run
    trades = _table(engine, backtest_trades, run.id).sort_values(["exit_time", "trade_id"])
    pnl = trades["realized_pnl_pct"].to_numpy()
    equity = np.cumsum(pnl)
    drawdown = np.max(np.maximum.accumulate(np.concatenate([[0.0], equity]))[1:] - equity)
    summary = run.summary or {}
    assert summary["trades"] == len(pnl) > 5
    assert summary["wins"] == int((pnl > 0).sum())
    assert summary["win_rate"] == pytest.approx((pnl > 0).mean())
    assert summary["net_expectancy_pct"] == pytest.approx(pnl.mean())
    assert summary["cumulative_pnl_pct"] == pytest.approx(pnl.sum())
    assert summary["max_drawdown_pct"] == pytest.approx(max(drawdown, 0.0))
    assert get_run(engine, run.id) == run


def test_delete_removes_only_that_run_and_is_audited(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    setup = _setup(engine, registry, loader)
    keep, drop = _backtest(setup, market_dir).run, _backtest(setup, market_dir).run
    kept = (_table(engine, backtest_trades, keep.id), _table(engine, backtest_predictions, keep.id))
    removed = delete_run(engine, drop.id, reason="obsolete", actor="ops")
    assert removed == {"trades": drop.summary["trades"], "predictions": BARS, "journal_trades": 0}
    assert len(_table(engine, backtest_trades, drop.id)) == 0
    assert len(_table(engine, backtest_predictions, drop.id)) == 0
    pd.testing.assert_frame_equal(_table(engine, backtest_trades, keep.id), kept[0])
    pd.testing.assert_frame_equal(_table(engine, backtest_predictions, keep.id), kept[1])
    [entry] = read_audit(engine, action="backtest.delete")
    assert (entry.target, entry.actor, entry.reason) == (
        f"backtest_run:{drop.id}",
        "ops",
        "obsolete",
    )
    assert entry.before["trades"] == drop.summary["trades"]
    with pytest.raises(NotFoundError, match=f"no backtest run {drop.id}"):
        get_run(engine, drop.id)
    # a new run never reuses a deleted run's id
    assert _backtest(setup, market_dir).run.id > drop.id


def test_into_journal_writes_drill_labelled_trades_that_delete_removes(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    result = _backtest(_setup(engine, registry, loader), market_dir, into_journal=True)
    run_trades = _table(engine, backtest_trades, result.run.id)
    journal = _table(engine, trade_journal)
    assert result.run.into_journal
    assert len(journal) == len(run_trades) == result.report.trades > 0
    assert set(journal["source"]) == {"drill"}
    assert sorted(journal["trade_id"]) == sorted(
        f"bt{result.run.id}:{t}" for t in run_trades["trade_id"]
    )
    assert _count(engine, predictions) == 0  # predictions stay in the run
    removed = delete_run(engine, result.run.id, reason="drill over", actor="ops")
    assert removed["journal_trades"] == len(journal)
    assert _count(engine, trade_journal) == 0


def test_backtests_ignore_the_production_switches(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    set_flag(engine, "halt", True, reason="ADR-71 test", actor="ops")
    result = _backtest(_setup(engine, registry, loader), market_dir)
    assert result.report.trades > 0 and result.report.stopped_by is None


def test_warns_when_the_period_overlaps_a_served_version_training_window(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    windows = {
        (model_name("BTCUSDC", STRATEGY), 2): (dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 1)),
        (model_name("ETHUSDC", STRATEGY), 2): (dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 1)),
    }
    result = _backtest(
        _setup(engine, registry, loader),
        market_dir,
        training_window=lambda name, version: windows.get((name, version)),
    )
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("BTCUSDC version 2 was trained on 2025-01-01T00:00Z")
    assert (result.run.summary or {})["warnings"] == list(result.warnings)


def test_training_window_is_read_from_the_mlflow_run(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.create_run(client.create_experiment("e"))
    client.log_param(run.info.run_id, "data_start", "2025-01-01T00:00:00Z")
    client.log_param(run.info.run_id, "data_end", "2025-02-15T00:00:00Z")
    client.create_registered_model("M")
    client.create_model_version("M", source=str(tmp_path), run_id=run.info.run_id)
    client.create_model_version("M", source=str(tmp_path))
    assert training_window(uri, "M", 1) == (dt.datetime(2025, 1, 1), dt.datetime(2025, 2, 15))
    assert training_window(uri, "M", 2) is None
    assert training_window(uri, "M", 9) is None


def test_a_run_that_dies_is_recorded_as_failed_with_what_it_stored(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    def die(bars: int) -> None:
        raise RuntimeError(f"stop after {bars} bars")

    with pytest.raises(RuntimeError, match="stop after"):
        _backtest(_setup(engine, registry, loader), market_dir, on_block=die)
    [run] = list_runs(engine)
    assert run.status == "failed" and run.finished_at is not None
    stored = len(_table(engine, backtest_predictions, run.id))
    assert (run.summary or {})["predictions"] == stored == len(SYMBOLS) * 24  # one block
