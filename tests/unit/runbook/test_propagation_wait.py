"""The propagation wait against `engine_status` rows, on a fake clock (no real sleeping)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine, delete, insert

from cvntrade.db import create_db_engine, write_transaction
from cvntrade.db.tables import engine_status
from cvntrade.errors import UserInputError
from cvntrade.runbook import (
    NO_LIVE_ENGINE,
    NOT_SWITCHED,
    SWITCHED,
    PropagationReport,
    PropagationTarget,
    wait_for_propagation,
)

BTC = PropagationTarget("BTCUSDC", "CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4", 41)
ETH = PropagationTarget("ETHUSDC", "CVNTrade_XGBoost_ETHUSDC_SL0.5_TP1_H4", 36)
START = dt.datetime(2026, 11, 24, 12, 0)


@dataclass
class FakeTime:
    """Wall clock, monotonic timer and sleep in one; scheduled actions run as time passes."""

    t: float = 0.0
    scheduled: list[tuple[float, Callable[[], None]]] = field(default_factory=list)
    sleeps: int = 0

    def clock(self) -> dt.datetime:
        return START + dt.timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.t += seconds
        due = [item for item in self.scheduled if item[0] <= self.t + 1e-9]
        self.scheduled = [item for item in self.scheduled if item not in due]
        for _, action in due:
            action()

    def at(self, t: float, action: Callable[[], None]) -> None:
        self.scheduled.append((t, action))


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Engine]:
    engine = create_db_engine(sqlite_url)
    yield engine
    engine.dispose()


def heartbeat(
    db: Engine,
    target: PropagationTarget,
    version: int | None,
    at: dt.datetime,
    *,
    engine_id: str = "live@host:1",
    model_name: str | None = None,
    stale: bool = False,
) -> None:
    """What the engine's upsert leaves behind: one row per (engine, symbol)."""
    es = engine_status.c
    with write_transaction(db) as conn:
        conn.execute(
            delete(engine_status).where(
                es.engine_id == engine_id, es.crypto_symbol == target.crypto_symbol
            )
        )
        conn.execute(
            insert(engine_status).values(
                engine_id=engine_id,
                crypto_symbol=target.crypto_symbol,
                strategy="SL0.5_TP1_H4",
                model_name=model_name or target.model_name,
                model_version=version,
                model_loss_function="binary",
                stale=stale,
                mode="live",
                heartbeat_at=at,
            )
        )


def wait(
    db: Engine, time: FakeTime, *targets: PropagationTarget, wait_s: float = 30.0
) -> PropagationReport:
    return wait_for_propagation(
        db,
        targets,
        wait_s=wait_s,
        clock=time.clock,
        monotonic=time.monotonic,
        sleep=time.sleep,
    )


def test_switch_is_seen_at_the_first_poll_after_the_engine_reports_it(db: Engine) -> None:
    time = FakeTime()
    heartbeat(db, BTC, 42, START)
    time.at(0.3, lambda: heartbeat(db, BTC, 41, time.clock()))
    report = wait(db, time, BTC)
    [btc] = report.symbols
    assert btc.status == SWITCHED
    assert btc.elapsed_s == pytest.approx(0.3, abs=0.051)
    assert report.complete
    assert report.waited_s == pytest.approx(btc.elapsed_s)
    assert [e.model_version for e in btc.engines] == [41]


def test_a_symbol_already_served_at_the_new_version_needs_no_wait(db: Engine) -> None:
    time = FakeTime()
    heartbeat(db, BTC, 41, START)
    report = wait(db, time, BTC)
    assert report.symbols[0].status == SWITCHED
    assert report.symbols[0].elapsed_s == 0
    assert time.sleeps == 0


def test_no_live_engine_is_reported_at_once_not_waited_for(db: Engine) -> None:
    time = FakeTime()
    heartbeat(db, BTC, 42, START - dt.timedelta(seconds=11))  # older than 10 s: not live
    report = wait(db, time, BTC, ETH)  # ETH: no row at all
    assert [s.status for s in report.symbols] == [NO_LIVE_ENGINE, NO_LIVE_ENGINE]
    assert report.complete
    assert report.by_status(NO_LIVE_ENGINE) == ("BTCUSDC", "ETHUSDC")
    assert report.symbols[0].engines[0].live is False
    assert time.sleeps == 0


def test_every_live_engine_must_switch_and_laggards_are_named_at_the_deadline(
    db: Engine,
) -> None:
    time = FakeTime()
    heartbeat(db, BTC, 42, START, engine_id="a")
    heartbeat(db, BTC, 42, START, engine_id="b", stale=True)
    heartbeat(db, ETH, 37, START, engine_id="a")
    time.at(0.1, lambda: heartbeat(db, BTC, 41, time.clock(), engine_id="a"))
    time.at(0.2, lambda: heartbeat(db, ETH, 36, time.clock(), engine_id="a"))
    for second in range(1, 5):  # b keeps beating, stuck on the old model (registry unreachable)
        time.at(second, lambda: heartbeat(db, BTC, 42, time.clock(), engine_id="b", stale=True))
    report = wait(db, time, BTC, ETH, wait_s=5)
    btc, eth = report.symbols
    assert (btc.status, btc.elapsed_s) == (NOT_SWITCHED, None)
    assert [(e.engine_id, e.model_version, e.stale) for e in btc.engines] == [
        ("a", 41, False),
        ("b", 42, True),
    ]
    assert eth.status == SWITCHED
    assert not report.complete
    assert report.waited_s == pytest.approx(5)


def test_an_engine_that_falls_silent_is_waited_for_not_counted_as_absent(db: Engine) -> None:
    time = FakeTime()
    heartbeat(db, BTC, 42, START)  # never beats again: it is live for 10 s, then silent
    report = wait(db, time, BTC, wait_s=12)
    [btc] = report.symbols
    assert btc.status == NOT_SWITCHED
    assert btc.engines[0].live is False


def test_rows_of_other_models_are_ignored(db: Engine) -> None:
    time = FakeTime()
    heartbeat(db, BTC, 7, START, model_name="CVNTrade_XGBoost_BTCUSDC_SL1_TP2_H8")
    heartbeat(db, BTC, 41, START, engine_id="other")
    report = wait(db, time, BTC)
    assert report.symbols[0].status == SWITCHED
    assert [e.engine_id for e in report.symbols[0].engines] == ["other"]


def test_zero_wait_checks_once(db: Engine) -> None:
    time = FakeTime()
    heartbeat(db, BTC, 42, START)
    report = wait(db, time, BTC, wait_s=0)
    assert report.symbols[0].status == NOT_SWITCHED
    assert time.sleeps == 0


@pytest.mark.parametrize("kwargs", [{"wait_s": -1}, {"heartbeat_max_age_s": 0}, {"poll_s": 0}])
def test_nonsense_limits_are_refused(db: Engine, kwargs: dict[str, float]) -> None:
    args = {"wait_s": 1.0, **kwargs}
    with pytest.raises(UserInputError):
        wait_for_propagation(db, [BTC], **args)  # type: ignore[arg-type]
