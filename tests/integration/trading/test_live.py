"""Live paper trading on a recorded exchange session; a registry outage keeps the last model."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from sqlalchemy import Engine, select
from trading_support import STRATEGY, BoosterModel

from cvntrade.db.tables import predictions
from cvntrade.market import ParquetStore, RecordedExchange
from cvntrade.registry import MlflowRegistry
from cvntrade.strategy import model_name
from cvntrade.trading.engine import Costs, warmup_start
from cvntrade.trading.persistence import served_versions
from cvntrade.trading.service import EngineSetup, run_live

SINCE = dt.datetime(2025, 3, 1)
POLL_ENDS = [dt.datetime(2025, 3, 3), dt.datetime(2025, 3, 5), dt.datetime(2025, 3, 7)]


def _ms(value: dt.datetime) -> int:
    return int((value - dt.datetime(1970, 1, 1)).total_seconds() * 1000)


def _recording(market_dir: Path, path: Path) -> RecordedExchange:
    """fetch_ohlcv responses shaped like ccxt's, one call per poll, last bar still open."""
    bars = ParquetStore(market_dir).read("BTCUSDC", "1h")
    candles = [
        [_ms(t.to_pydatetime()), o, h, lo, c, v]
        for t, o, h, lo, c, v in zip(
            bars["timestamp"],
            bars["open"],
            bars["high"],
            bars["low"],
            bars["close"],
            bars["volume"],
            strict=True,
        )
    ]
    calls, since = [], warmup_start(SINCE, "1h")
    for end in POLL_ENDS:
        page = [c for c in candles if _ms(since) <= c[0] <= _ms(end)]  # includes the open bar
        calls.append(
            {
                "symbol": "BTC/USDC",
                "timeframe": "1h",
                "since": _ms(since),
                "limit": 1000,
                "response": page,
            }
        )
        since = end
    path.write_text(json.dumps({"exchange": "binance", "calls": calls}))
    return RecordedExchange.from_file(path)


@pytest.fixture
def outage_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    yield


def test_live_polls_trade_and_survive_a_registry_outage(
    engine: Engine,
    registry: MlflowRegistry,
    loader: Callable[..., BoosterModel],
    market_dir: Path,
    tmp_path: Path,
    outage_env: None,
) -> None:
    setup = EngineSetup(
        db=engine,
        registry=registry,
        loader=loader,
        symbols=("BTCUSDC",),
        strategy=STRATEGY,
        interval="1h",
        costs=Costs(0.1, 0.02),
        poll_s=0.0,
        engine_id="live-test",
    )
    healthy_client = registry.client
    clock = iter(POLL_ENDS)
    stale_seen: list[bool] = []

    def on_poll(poll: int) -> None:
        stale_seen.append(served_versions(engine, "live-test")[0].stale)
        if poll == 1:  # the tracking server goes away
            registry._client = MlflowClient(tracking_uri="http://127.0.0.1:9")
        if poll == 2:  # and comes back
            registry._client = healthy_client

    report = run_live(
        setup,
        _recording(market_dir, tmp_path / "session.json"),
        since=SINCE,
        max_polls=3,
        poll_every_s=0.0,
        now=lambda: next(clock),
        sleep=lambda _: None,
        on_poll=on_poll,
    )
    assert stale_seen == [False, True, False]
    assert report.versions == {"BTCUSDC": [2]}
    with engine.connect() as conn:
        rows = pd.read_sql(select(predictions).order_by(predictions.c.bar_time), conn)
    # one prediction per bar closed by the last poll (bar_time = close), none for open bars
    expected_bars = pd.date_range(SINCE + dt.timedelta(hours=1), POLL_ENDS[-1], freq="h")
    assert list(rows["bar_time"]) == list(expected_bars)
    assert set(rows["model_version"]) == {2}
    assert set(rows["model_name"]) == {model_name("BTCUSDC", STRATEGY)}
