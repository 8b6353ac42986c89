"""`cvntrade doctor`: check the whole platform and say what to fix."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from cvntrade.cli.common import console, print_json
from cvntrade.errors import ExitCode
from cvntrade.strategy import DEFAULT_STRATEGY

STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor_command(
    symbols: str = typer.Option(
        None,
        "--symbols",
        help="Symbols to check (default: those with market data or an engine heartbeat).",
    ),
    strategy: str = typer.Option(DEFAULT_STRATEGY, "--strategy", help="Strategy of the models."),
    exporter_url: str = typer.Option(
        "http://127.0.0.1:9108/metrics", "--exporter-url", help="Where the exporter should answer."
    ),
    timeout_s: float = typer.Option(
        3.0, "--timeout-s", min=0.1, help="Longest wait for any one server, seconds."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Check database, MLflow, market data, champions, config, engines, exporter, tools, Airflow.

    Each check is ok, warn or fail, with what to fix. Changes nothing. Exit 1 when a check
    fails (something is broken), 0 when there are only warnings. The audit trail's hash chains
    are walked for their oldest 500 000 rows (a warning beyond: `cvntrade audit verify` walks
    them all).
    """
    from cvntrade.clock import utc_now
    from cvntrade.doctor import run_doctor
    from cvntrade.settings import get_settings
    from cvntrade.strategy import Strategy
    from cvntrade.trading.service import parse_symbols

    wanted = parse_symbols(symbols) if symbols else None
    report = run_doctor(
        get_settings(),
        symbols=wanted,
        strategy=Strategy.parse(strategy).name,
        now=utc_now(),
        exporter_url=exporter_url,
        timeout_s=timeout_s,
    )
    if as_json:
        print_json({"healthy": report.healthy, "checks": report.checks})
    else:
        table = Table(title="cvntrade doctor")
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        for check in report.checks:
            table.add_row(
                Text(check.name),
                Text(check.status, style=STYLES[check.status]),
                Text(check.detail),
                Text(check.fix or ""),
            )
        console.print(table)
        verdict = (
            f"{len(report.failed)} failed, {len(report.warnings)} warning(s)"
            if report.failed
            else f"healthy ({len(report.warnings)} warning(s))"
        )
        console.print(Text(verdict, style="bold red" if report.failed else "bold green"))
    if not report.healthy:
        raise typer.Exit(ExitCode.NEGATIVE)
