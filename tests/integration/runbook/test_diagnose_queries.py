"""The set-based reads of `runbook diagnose` return what the row-by-row reading returned.

`focal_models` (a recursive walk of the symbols, one index seek each) and `read_predictions`
(epoch milliseconds computed by the database) are compared with a plain Python reading of the
same rows, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import Engine, insert, select

from cvntrade.db.tables import predictions
from cvntrade.monitoring.drift import read_predictions
from cvntrade.runbook.diagnose_gather import RECENT, focal_models

NOW = dt.datetime(2026, 11, 30, 12, 0)
H = dt.timedelta(hours=1)


def _row(
    symbol: str,
    at: dt.datetime,
    loss: str,
    version: int,
    strategy: str = "SL0.5_TP1_H4",
    p: float = 0.5,
) -> dict[str, Any]:
    return {
        "crypto_symbol": symbol,
        "strategy": strategy,
        "bar_time": at,
        "model_name": f"CVNTrade_XGBoost_{symbol}_{strategy}",
        "model_version": version,
        "model_loss_function": loss,
        "probability": p,
        "created_at": NOW,
    }


def _eth(k: int) -> dict[str, Any]:
    rolled_back = k <= 5
    return _row(
        "ETHUSDC", NOW - k * H, "binary" if rolled_back else "focal", 2 if rolled_back else 7
    )


ODD = dt.timedelta(seconds=1, microseconds=250_000)
ROWS = [
    # BTC: focal v3 then v4 in the window -> v4 (the latest)
    *(_row("BTCUSDC", NOW - k * H, "focal", 4 if k < 10 else 3) for k in range(1, 40)),
    # ETH: rolled back 5 h ago -> binary since, the latest FOCAL prediction is v7
    *(_eth(k) for k in range(1, 30)),
    # SOL: focal only before the window -> not diagnosed
    *(_row("SOLUSDC", NOW - RECENT - k * H, "focal", 1) for k in range(1, 20)),
    # XRP: binary only -> not diagnosed
    *(_row("XRPUSDC", NOW - k * H, "binary", 5) for k in range(1, 20)),
    # ADA: a prediction AT `now` is outside [now - 48 h, now); two strategies at its latest bar
    _row("ADAUSDC", NOW, "focal", 9),
    _row("ADAUSDC", NOW - H, "focal", 8, strategy="SL1_TP2_H8"),
    _row("ADAUSDC", NOW - H, "focal", 6, strategy="SL0.5_TP1_H4"),
    _row("ADAUSDC", NOW - 2 * H, "focal", 5),
    # a timestamp with milliseconds and a whole-minute one, for the epoch conversion
    _row("DOTUSDC", NOW - RECENT + ODD, "focal", 1, p=0.1),
    _row("DOTUSDC", NOW - dt.timedelta(minutes=1), "focal", 1, p=0.9),
]


def _ms(at: dt.datetime) -> int:
    return int(np.datetime64(at, "ms").astype(np.int64))


def _reference(rows: list[dict[str, Any]]) -> dict[str, tuple[str, int, str]]:
    """The old reading: every focal prediction of the window, the latest one wins (ties on the
    bar broken by strategy, as the query does)."""
    window = [
        r
        for r in rows
        if r["model_loss_function"] == "focal" and NOW - RECENT <= r["bar_time"] < NOW
    ]
    window.sort(key=lambda r: r["strategy"])  # then a stable sort: newest bar first
    window.sort(key=lambda r: r["bar_time"], reverse=True)
    found: dict[str, tuple[str, int, str]] = {}
    for r in window:
        found.setdefault(r["crypto_symbol"], (r["model_name"], r["model_version"], r["strategy"]))
    return found


def test_focal_models_is_the_latest_focal_prediction_per_symbol_in_the_window(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        conn.execute(insert(predictions), ROWS)
    found = focal_models(engine, NOW)
    assert found == _reference(ROWS)
    assert set(found) == {"ADAUSDC", "BTCUSDC", "DOTUSDC", "ETHUSDC"}
    assert found["BTCUSDC"][1] == 4 and found["ETHUSDC"][1] == 7
    assert found["ADAUSDC"] == ("CVNTrade_XGBoost_ADAUSDC_SL0.5_TP1_H4", 6, "SL0.5_TP1_H4")


def test_focal_models_of_an_empty_table_is_empty(engine: Engine) -> None:
    assert focal_models(engine, NOW) == {}


def test_read_predictions_gives_epoch_milliseconds_in_bar_order(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(predictions), ROWS)
        stored = conn.execute(
            select(predictions.c.bar_time, predictions.c.probability)
            .where(predictions.c.crypto_symbol == "BTCUSDC")
            .order_by(predictions.c.bar_time)
        ).all()
    times, probs, strategy = read_predictions(engine, "BTCUSDC", NOW - 20 * H, "SL0.5_TP1_H4")
    expected = [r for r in stored if r[0] >= NOW - 20 * H]
    assert times.dtype == np.int64 and times.tolist() == [_ms(r[0]) for r in expected]
    assert probs.tolist() == [r[1] for r in expected] and strategy == "SL0.5_TP1_H4"
    dot, _, _ = read_predictions(engine, "DOTUSDC", NOW - RECENT)
    since_ms = int(np.datetime64(NOW - RECENT, "ms").astype(np.int64))
    assert dot.tolist() == [
        since_ms + 1250,
        int(np.datetime64(NOW, "ms").astype(np.int64)) - 60_000,
    ]
    ada, _, latest = read_predictions(engine, "ADAUSDC", NOW - RECENT)  # every strategy
    assert ada.tolist() == [_ms(NOW - 2 * H), _ms(NOW - H), _ms(NOW - H), _ms(NOW)]
    assert latest == "SL0.5_TP1_H4"  # the strategy of the latest row
    _, _, other = read_predictions(engine, "ADAUSDC", NOW - RECENT, "SL1_TP2_H8")
    assert other == "SL1_TP2_H8"
    empty = read_predictions(engine, "NOPEUSDC", NOW - RECENT)
    assert (empty[0].size, empty[1].size, empty[2]) == (0, 0, None)
