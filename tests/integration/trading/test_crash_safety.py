"""SIGKILL the engine at random points: no closed trade is lost or written twice."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path

import crash_child
import pandas as pd
import pytest
from sqlalchemy import Engine, select
from trading_support import STRATEGY, SYMBOLS, BoosterModel

from cvntrade.db import create_db_engine, upgrade
from cvntrade.db.tables import predictions, trade_journal
from cvntrade.registry import MlflowRegistry
from cvntrade.strategy import model_name
from cvntrade.trading.engine import Costs
from cvntrade.trading.service import EngineSetup, run_paper

KILLS = 20
START, END = dt.datetime(2025, 2, 16), dt.datetime(2025, 3, 14)

PRELOAD = ["crash_child", "cvntrade.trading.service", "xgboost", "mlflow"]


def _start(context: BaseContext, args: list[str]) -> tuple[BaseProcess, Connection]:
    """A real engine process (SIGKILL-able), reporting committed blocks on a pipe."""
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=crash_child.run_engine, args=(send, args))  # type: ignore[attr-defined]
    process.start()
    send.close()
    return process, receive


def _rows(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    with engine.connect() as conn:
        trades = pd.read_sql(select(trade_journal).order_by(trade_journal.c.trade_id), conn)
        preds = pd.read_sql(
            select(
                predictions.c.crypto_symbol,
                predictions.c.bar_time,
                predictions.c.model_version,
                predictions.c.probability,
            ).order_by(predictions.c.crypto_symbol, predictions.c.bar_time),
            conn,
        )
    return trades.drop(columns=["id"]), preds


@pytest.mark.slow
def test_random_sigkills_lose_and_duplicate_nothing(
    db_url: str,
    tmp_path: Path,
    registry: MlflowRegistry,
    boosters: dict[tuple[str, int], BoosterModel],
    market_dir: Path,
) -> None:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    for (name, version), model in boosters.items():
        model.booster.save_model(str(models_dir / f"{name}-v{version}.json"))

    # Reference: one uninterrupted run on its own SQLite database.
    reference_db = create_db_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    upgrade(reference_db)
    load: Callable[[str, int], BoosterModel] = lambda name, version: BoosterModel(  # noqa: E731
        boosters[(name, version)].booster, 0.33, "focal" if version == 2 else "binary"
    )
    run_paper(
        EngineSetup(
            db=reference_db,
            registry=registry,
            loader=load,
            symbols=SYMBOLS,
            strategy=STRATEGY,
            interval="1h",
            costs=Costs(0.1, 0.02),
            poll_s=3600.0,
            engine_id="crash-test",
        ),
        data_dir=market_dir,
        start=START,
        end=END,
    )
    expected_trades, expected_predictions = _rows(reference_db)
    assert len(expected_trades) >= 5

    args = [
        db_url,
        registry.tracking_uri,
        str(market_dir),
        str(models_dir),
        START.isoformat(),
        END.isoformat(),
    ]
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    rng = random.Random(20261126)
    kills = 0
    while kills < KILLS:
        process, pipe = _start(context, args)
        wait_for = rng.randint(0, 3)  # committed blocks to let through before the kill
        messages = [pipe.recv()[0] for _ in range(wait_for)]
        assert "done" not in messages, "the replay finished before the planned kills"
        process.kill()  # SIGKILL: no clean-up, no flush, possibly mid-transaction
        process.join(timeout=60)
        assert process.exitcode == -signal.SIGKILL
        pipe.close()
        kills += 1
    process, pipe = _start(context, args)
    while pipe.recv()[0] != "done":
        pass
    process.join(timeout=300)
    assert process.exitcode == 0

    engine = create_db_engine(db_url)
    trades, preds = _rows(engine)
    engine.dispose()
    assert not trades["trade_id"].duplicated().any()
    pd.testing.assert_frame_equal(
        trades.drop(columns=["source"]).reset_index(drop=True),
        expected_trades.drop(columns=["source"]).reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(
        preds.reset_index(drop=True), expected_predictions.reset_index(drop=True)
    )
    assert set(trades["model_name"]) == {model_name(s, STRATEGY) for s in SYMBOLS}
