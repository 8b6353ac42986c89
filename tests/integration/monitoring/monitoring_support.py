"""Shared builders for monitoring tests: random journals, market bars, predictions, heartbeats."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert

from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import predictions
from cvntrade.journal.records import Trade
from cvntrade.journal.repository import insert_trades
from cvntrade.trading.persistence import StatusRow, _upsert_status

NOW = dt.datetime(2026, 11, 30, 12, 0)
STRATEGY = "SL0.5_TP1_H4"


def random_trades(seed: int, n: int = 400, now: dt.datetime = NOW) -> list[Trade]:
    """Trades over the last 20 days on three symbols and both losses, random net PnL."""
    rng = np.random.default_rng(seed)
    trades = []
    for i in range(n):
        symbol = ["BTCUSDC", "ETHUSDC", "SOLUSDC"][i % 3]
        entry = now - dt.timedelta(minutes=int(rng.integers(1, 20 * 24 * 60)))
        trades.append(
            Trade(
                trade_id=f"t{seed}-{i}",
                crypto_symbol=symbol,
                strategy=STRATEGY,
                model_name=f"m_{symbol}",
                model_version=1,
                model_loss_function=str(rng.choice(["binary", "focal"])),
                entry_time=entry,
                exit_time=entry + dt.timedelta(hours=1),
                entry_price=100.0,
                exit_price=100.0,
                exit_reason="horizon",
                fees_pct=0.1,
                realized_pnl_pct=float(rng.normal(0.02, 0.7)),
            )
        )
    return trades


def write_trades(engine: Engine, trades: list[Trade]) -> None:
    with write_transaction(engine) as conn:
        insert_trades(conn, trades)


def heartbeat(
    engine: Engine,
    symbol: str,
    loss: str,
    mode: str = "paper",
    version: int = 3,
    at: dt.datetime = NOW,
) -> None:
    """An engine heartbeat for `symbol` serving a `loss` champion, sent at `at`."""
    row = StatusRow("e1", symbol, STRATEGY, f"m_{symbol}", version, loss, False, mode, at)
    with write_transaction(engine) as conn:
        _upsert_status(conn, [row])


def write_predictions(
    engine: Engine, symbol: str, open_times: pd.Series, probs: np.ndarray
) -> None:
    """Predictions as the engine logs them: bar_time = signal bar close = open + 1 h."""
    rows = [
        {
            "crypto_symbol": symbol,
            "strategy": STRATEGY,
            "bar_time": pd.Timestamp(t).to_pydatetime() + dt.timedelta(hours=1),
            "model_name": f"m_{symbol}",
            "model_version": 3,
            "model_loss_function": "focal",
            "probability": float(p),
            "created_at": NOW,
        }
        for t, p in zip(open_times, probs, strict=True)
    ]
    with write_transaction(engine) as conn:
        conn.execute(insert(predictions), rows)
