"""Backtest runs: their records, their summary, and the in-sample warning.

A backtest (`cvntrade trade replay`) is a run with its own id in `backtest_runs`; its trades and
predictions are in `backtest_trades` / `backtest_predictions` (see `cvntrade.trading.sinks`).
Every summary figure is computed from the trades stored for the run, so what is reported is what
was written.

Summary (percent figures are sums of per-trade net returns, each trade one unit of capital, not
compounded): `trades`; `win_rate` = share of trades with `realized_pnl_pct > 0`;
`net_expectancy_pct` = mean net return per trade; `cumulative_pnl_pct` = sum; `max_drawdown_pct`
= largest fall of the cumulative sum (trades in exit order, starting from 0) below its running
peak, as a positive number of percentage points.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select, update

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.clock import Clock, utc_now
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import (
    backtest_predictions,
    backtest_runs,
    backtest_trades,
    trade_journal_rows,
)
from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.trading.sinks import drill_trade_id

RUNNING, FINISHED, FAILED = "running", "finished", "failed"


@dataclass(frozen=True, slots=True)
class Summary:
    """Performance of a set of closed trades (definitions in the module docstring)."""

    trades: int
    wins: int
    win_rate: float | None
    net_expectancy_pct: float | None
    cumulative_pnl_pct: float
    max_drawdown_pct: float


@dataclass(frozen=True, slots=True)
class BacktestRun:
    """One backtest run as stored (`summary` holds counts, figures and warnings)."""

    id: int
    created_at: dt.datetime
    finished_at: dt.datetime | None
    actor: str
    symbols: list[str]
    strategy: str
    interval: str
    start_time: dt.datetime
    end_time: dt.datetime
    status: str
    into_journal: bool
    served_versions: dict[str, list[int]] | None
    summary: dict[str, Any] | None


def summarise(pnl_pct_in_exit_order: Sequence[float]) -> Summary:
    """Trades, win rate, net expectancy, cumulative PnL and max drawdown of net returns."""
    pnls = [float(p) for p in pnl_pct_in_exit_order]
    equity, peak, drawdown, wins = 0.0, 0.0, 0.0, 0
    for pnl in pnls:
        equity += pnl
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
        wins += pnl > 0
    n = len(pnls)
    return Summary(
        trades=n,
        wins=wins,
        win_rate=wins / n if n else None,
        net_expectancy_pct=math.fsum(pnls) / n if n else None,
        cumulative_pnl_pct=math.fsum(pnls),
        max_drawdown_pct=drawdown,
    )


def overlap_warnings(
    windows: Mapping[tuple[str, int], tuple[dt.datetime, dt.datetime] | None],
    start: dt.datetime,
    end: dt.datetime,
) -> list[str]:
    """One warning per (symbol, version) whose training window overlaps `[start, end)`.

    Trades on bars the model was trained on are in-sample: their results flatter the model.
    """
    warnings = []
    for (symbol, version), window in sorted(windows.items()):
        if window is None:
            continue
        first, last = window
        if first < end and last >= start:
            warnings.append(
                f"{symbol} version {version} was trained on {first:%Y-%m-%dT%H:%MZ} .. "
                f"{last:%Y-%m-%dT%H:%MZ}, which overlaps this backtest "
                f"({start:%Y-%m-%dT%H:%MZ} .. {end:%Y-%m-%dT%H:%MZ}): in-sample results"
            )
    return warnings


def training_window(
    tracking_uri: str, name: str, version: int
) -> tuple[dt.datetime, dt.datetime] | None:
    """The data window a registered version was trained on, or None when not recorded.

    `cvntrade train` logs it as the run's params `data_start` / `data_end`
    (`cvntrade.training.api`); version tags of the same names win if present.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        info = client.get_model_version(name, str(version))
        values = dict(info.tags or {})
        if not {"data_start", "data_end"} <= values.keys() and info.run_id:
            values = {**client.get_run(info.run_id).data.params, **values}
    except MlflowException:
        return None
    try:
        return _utc(values["data_start"]), _utc(values["data_end"])
    except (KeyError, ValueError):
        return None


def _utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def create_run(
    db: Engine,
    *,
    actor: str,
    symbols: Sequence[str],
    strategy: str,
    interval: str,
    start: dt.datetime,
    end: dt.datetime,
    into_journal: bool,
    clock: Clock = utc_now,
) -> int:
    """Record a new run (status `running`) and return its id: every backtest gets a new one."""
    with write_transaction(db) as conn:
        result = conn.execute(
            insert(backtest_runs)
            .values(
                created_at=clock(),
                actor=actor,
                symbols=list(symbols),
                strategy=strategy,
                interval=interval,
                start_time=start,
                end_time=end,
                status=RUNNING,
                into_journal=into_journal,
            )
            .returning(backtest_runs.c.id)
        )
        return int(result.scalar_one())


def run_trades(db: Engine, run_id: int) -> pd.DataFrame:
    """The trades stored for a run, in exit order."""
    query = (
        select(backtest_trades)
        .where(backtest_trades.c.run_id == run_id)
        .order_by(backtest_trades.c.exit_time, backtest_trades.c.trade_id)
    )
    with db.connect() as conn:
        return pd.read_sql(query, conn)


def stored_counts(db: Engine, run_id: int) -> tuple[int, int]:
    """Rows stored for a run: (trades, predictions)."""
    with db.connect() as conn:
        trades = conn.execute(
            select(func.count()).where(backtest_trades.c.run_id == run_id)
        ).scalar_one()
        predictions = conn.execute(
            select(func.count()).where(backtest_predictions.c.run_id == run_id)
        ).scalar_one()
    return int(trades), int(predictions)


def finish_run(
    db: Engine,
    run_id: int,
    *,
    status: str,
    served_versions: Mapping[str, list[int]],
    extra: Mapping[str, Any] | None = None,
    clock: Clock = utc_now,
) -> BacktestRun:
    """Close a run: its summary from the stored trades, counts from the stored rows."""
    trades = run_trades(db, run_id)
    n_trades, n_predictions = stored_counts(db, run_id)
    figures = summarise(trades["realized_pnl_pct"].tolist())
    summary = {
        **(dict(extra) if extra else {}),
        "predictions": n_predictions,
        **{k: getattr(figures, k) for k in figures.__slots__},
    }
    assert summary["trades"] == n_trades
    with write_transaction(db) as conn:
        conn.execute(
            update(backtest_runs)
            .where(backtest_runs.c.id == run_id)
            .values(
                status=status,
                finished_at=clock(),
                served_versions=dict(served_versions),
                summary=summary,
            )
        )
    return get_run(db, run_id)


def list_runs(db: Engine, limit: int = 50) -> list[BacktestRun]:
    """The newest runs first."""
    query = select(backtest_runs).order_by(backtest_runs.c.id.desc()).limit(limit)
    with db.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_run(row) for row in rows]


def get_run(db: Engine, run_id: int) -> BacktestRun:
    """One run; NotFoundError (exit 2) naming the id when there is none."""
    with db.connect() as conn:
        row = (
            conn.execute(select(backtest_runs).where(backtest_runs.c.id == run_id))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFoundError(f"no backtest run {run_id}: see `cvntrade trade runs list`")
    return _run(row)


def delete_run(
    db: Engine, run_id: int, *, reason: str, actor: str, clock: Clock = utc_now
) -> dict[str, int]:
    """Delete one run, its trades and predictions (and its drill journal rows), audited."""
    if not reason.strip():
        raise UserInputError("a non-empty --reason is required")
    run = get_run(db, run_id)
    with write_transaction(db) as conn:
        prefix = drill_trade_id(run_id, "")
        journal = conn.execute(
            delete(trade_journal_rows).where(
                trade_journal_rows.c.source == "drill",
                trade_journal_rows.c.trade_id.startswith(prefix),
            )
        ).rowcount
        trades = conn.execute(
            delete(backtest_trades).where(backtest_trades.c.run_id == run_id)
        ).rowcount
        predictions = conn.execute(
            delete(backtest_predictions).where(backtest_predictions.c.run_id == run_id)
        ).rowcount
        conn.execute(delete(backtest_runs).where(backtest_runs.c.id == run_id))
        removed = {"trades": trades, "predictions": predictions, "journal_trades": journal}
        write_audit(
            conn,
            AuditEntry(
                at=clock(),
                actor=actor,
                action="backtest.delete",
                target=f"backtest_run:{run_id}",
                reason=reason,
                before={
                    "strategy": run.strategy,
                    "symbols": run.symbols,
                    "from": run.start_time.isoformat(),
                    "to": run.end_time.isoformat(),
                    "status": run.status,
                    "summary": run.summary,
                    **removed,
                },
                after=None,
            ),
        )
    return removed


def _run(row: Any) -> BacktestRun:
    return BacktestRun(**{name: row[name] for name in BacktestRun.__slots__})
