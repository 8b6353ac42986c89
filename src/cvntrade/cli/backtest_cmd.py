"""`cvntrade trade runs`: the backtest runs `cvntrade trade replay` recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from cvntrade.cli.common import (
    ID_MAX,
    LIST_LIMIT_MAX,
    console,
    default_actor,
    fmt_pct,
    open_engine,
    print_json,
    styled,
)

if TYPE_CHECKING:
    from cvntrade.trading.backtest import BacktestRun

runs_app = typer.Typer(
    help="Backtest runs (`trade replay`): list, show, delete. Stored apart from production.",
    no_args_is_help=True,
)

RUN_ID = typer.Argument(
    ..., help="Run id, as shown by `cvntrade trade runs list`.", min=1, max=ID_MAX
)
JSON = typer.Option(False, "--json", help="Print JSON.")


def _fmt_rate(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.1f} %"


def print_run(run: BacktestRun, as_json: bool) -> None:
    """A run with its summary: JSON, or a few lines for the operator (warnings in yellow)."""
    if as_json:
        print_json(run)
        return
    summary = run.summary or {}
    where = (
        "backtest tables + trade_journal (source='drill')"
        if run.into_journal
        else ("backtest tables only (production journal untouched)")
    )
    console.print(
        f"backtest run {run.id} ({run.status}) {run.strategy} {run.interval} "
        f"{run.start_time:%Y-%m-%dT%H:%MZ} .. {run.end_time:%Y-%m-%dT%H:%MZ} "
        f"by {run.actor}: {where}"
    )
    if summary:
        console.print(
            f"  {summary.get('bars', 0)} bars, {summary.get('trades', 0)} trades and "
            f"{summary.get('predictions', 0)} predictions stored"
        )
        console.print(
            f"  win rate {_fmt_rate(summary.get('win_rate'))}, net expectancy "
            f"{fmt_pct(summary.get('net_expectancy_pct'))} %/trade, cumulative PnL "
            f"{fmt_pct(summary.get('cumulative_pnl_pct'))} %, max drawdown "
            f"{float(summary.get('max_drawdown_pct', 0.0)):.4f} pp"
        )
    for symbol, versions in (run.served_versions or {}).items():
        console.print(f"  {symbol}: served version(s) {', '.join(map(str, versions))}")
    for warning in summary.get("warnings", []):
        console.print(styled(f"warning: {warning}", "yellow"))


@runs_app.command("list")
def list_cmd(
    limit: int = typer.Option(50, "--limit", min=1, max=LIST_LIMIT_MAX, help="Newest N runs."),
    as_json: bool = JSON,
) -> None:
    """Backtest runs, newest first, with their headline figures."""
    from cvntrade.trading.backtest import list_runs

    runs = list_runs(open_engine(), limit)
    if as_json:
        print_json(runs)
        return
    # Few, narrow columns: readable in an 80-column terminal or a pipe (`show` has the rest).
    table = Table(
        title="backtest runs (`trade runs show ID` for details)",
        caption="* also written to trade_journal as source='drill' (--into-journal)"
        if any(run.into_journal for run in runs)
        else None,
        box=None,
        pad_edge=False,
    )
    for column in ("id", "status", "strategy", "period (UTC)"):
        table.add_column(column, no_wrap=True)
    for column in ("trades", "win %", "PnL %"):
        table.add_column(column, justify="right", no_wrap=True)
    for run in runs:
        s = run.summary or {}
        win_rate = s.get("win_rate")
        table.add_row(
            f"{run.id}*" if run.into_journal else str(run.id),
            run.status,
            run.strategy,
            f"{run.start_time:%Y-%m-%d}..{run.end_time:%Y-%m-%d}",
            str(s.get("trades", "—")),
            "—" if win_rate is None else f"{100 * float(win_rate):.1f}",
            "—" if s.get("cumulative_pnl_pct") is None else f"{s['cumulative_pnl_pct']:+.2f}",
        )
    console.print(table)


@runs_app.command("show")
def show_cmd(run_id: int = RUN_ID, as_json: bool = JSON) -> None:
    """One run: its summary, served versions and warnings."""
    from cvntrade.trading.backtest import get_run

    print_run(get_run(open_engine(), run_id), as_json)


@runs_app.command("delete")
def delete_cmd(
    run_id: int = RUN_ID,
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log)."),
    actor: str = typer.Option(None, "--actor", help="Who (default: $CVN_ACTOR or login name)."),
    as_json: bool = JSON,
) -> None:
    """Delete one run with its trades and predictions (and its drill journal rows); audited."""
    from cvntrade.trading.backtest import delete_run

    removed = delete_run(open_engine(), run_id, reason=reason, actor=actor or default_actor())
    if as_json:
        print_json({"run_id": run_id, "deleted": removed})
        return
    journal = removed["journal_trades"]
    console.print(
        f"backtest run {run_id} deleted: {removed['trades']} trades, "
        f"{removed['predictions']} predictions"
        + (f", {journal} drill journal trades" if journal else "")
        + " (audited)"
    )
