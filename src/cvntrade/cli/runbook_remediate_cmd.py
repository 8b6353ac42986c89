"""`cvntrade runbook remediate` and `cvntrade runbook escalate`, on the `runbook` Typer app.

Registered by importing this module (cvntrade.cli.main does). Both build the application
context once (`open_app`) and print their typed result as text or `--json`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from cvntrade.cli.common import clock_from, console, default_actor, print_json, styled
from cvntrade.cli.runbook_cmd import ACTOR_HELP, INCIDENT_HELP, app
from cvntrade.strategy import DEFAULT_STRATEGY

if TYPE_CHECKING:
    from cvntrade.app import AppContext


def _context(actor: str | None, now: str | None) -> AppContext:
    from cvntrade.app import open_app

    return open_app(actor=actor or default_actor(), clock=clock_from(now))


@app.command("remediate")
def remediate_cmd(
    path: str = typer.Option(
        ..., "--path", help="A (rollback), B (recalibrate), C (milder focal)."
    ),
    reason: str = typer.Option(..., "--reason", help="Why (kept in every audit row)."),
    symbols: str = typer.Option(
        "auto", "--symbols", help="'auto' (step 1's negative symbols) or BTCUSDC,ETHUSDC,…"
    ),
    strategy: str = typer.Option(DEFAULT_STRATEGY, "--strategy", help="Strategy of the models."),
    via: str = typer.Option(
        "inline", "--via", help="Path B: train inline, or through the Airflow DAG (airflow)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan, change nothing."),
    incident: int = typer.Option(None, "--incident", help=INCIDENT_HELP),
    now: str = typer.Option(None, "--now", help="Act as of this UTC time (ISO-8601)."),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Remediation path A, B or C of the runbook, every change audited and attached.

    A: roll back (if not done) and record the decision. B: CVN_CALIBRATION=temperature_scaling,
    recalibrate each symbol's focal version (inline or --via airflow, which needs
    CVN_AIRFLOW_BIN), show ECE_HOLD before/after, promote only where it improved by >= 0.005.
    C: CVN_FOCAL_GAMMA → 1.0, retrain focal on the bars before the last 48 h, backtest the new
    versions over the last 48 h (a stored backtest run), promote where >= 3 trades and
    expectancy >= 0, roll the others back (path A). Ends with the incident note `remediation`.
    Exit 0 done; 2 bad input or Airflow misconfigured; 4 Airflow not configured / registry down.
    """
    from cvntrade.runbook import parse_symbols
    from cvntrade.runbook.remediate import remediate, summary_line

    parsed = parse_symbols(symbols)
    ctx = _context(actor, now)

    def progress(line: str) -> None:
        print(line, file=sys.stderr if as_json else sys.stdout, flush=True)

    result = remediate(
        ctx,
        path=path,
        reason=reason,
        symbols=parsed,
        incident_id=incident,
        dry_run=dry_run,
        via=via,
        strategy=strategy,
        say=progress,
    )
    if as_json:
        print_json(result)
        return
    if result.dry_run:
        console.print(Text(f"DRY RUN, nothing changed — path {result.path}:"))
        for step in result.plan:
            console.print(Text(f"  {step}"), highlight=False)
    table = Table(title=f"Remediation path {result.path}")
    for column in ("crypto_symbol", "action", "versions", "before", "after", "why"):
        table.add_column(column, overflow="fold")
    for o in result.outcomes:
        table.add_row(
            Text(o.crypto_symbol),
            styled(o.action, "green" if o.action == "promoted" else ""),
            Text(f"{o.from_version or '—'} → {o.candidate_version or '—'}"),
            Text(_figures(o.before)),
            Text(_figures(o.after)),
            Text(o.why),
        )
    console.print(table)
    if not result.dry_run:
        console.print(Text(summary_line(result)))
    console.print(Text(f"incident: {result.attachment}"))


def _figures(values: object) -> str:
    if not isinstance(values, dict) or not values:
        return "—"
    return ", ".join(
        f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
    )


@app.command("escalate")
def escalate_cmd(
    incident: int = typer.Option(
        None, "--incident", help="Check the rollback attached to this incident (default: last)."
    ),
    confirm: str = typer.Option(
        None, "--confirm", help="kill-switch or halt: turn it on (only when not recovered)."
    ),
    reason: str = typer.Option(None, "--reason", help="Why (required with --confirm; audited)."),
    now: str = typer.Option(None, "--now", help="Evaluate as of this UTC time (ISO-8601)."),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Did expectancy recover within 4 h of the last rollback? If not, propose escalation.

    Recovered = at least 4 h after the rollback, the >= 3 trades of the rolled-back symbols
    entered since it have a mean realized_pnl_pct >= 0 (not yet known before that). When not
    recovered it proposes the portfolio kill switch, and the ADR-71 halt as the last resort;
    each is turned on only with --confirm kill-switch / --confirm halt and a --reason (audited,
    attached to the incident). Exit 0 recovered, not yet known or no rollback; 1 not recovered;
    2 bad input (also --confirm when there is nothing to escalate).
    """
    from cvntrade.runbook.escalation import escalate

    result = escalate(_context(actor, now), incident_id=incident, confirm=confirm, reason=reason)
    if as_json:
        print_json(
            {
                "verdict": result.recovery.verdict.value,
                "explanation": result.recovery.explanation,
                "recovery": result.recovery,
                "incident_id": result.incident_id,
                "attachment": result.attachment,
                "proposals": result.proposals,
                "kill_switch": result.kill_switch,
                "halt": result.halt,
                "switched": result.switched,
            }
        )
    else:
        verdict = result.recovery.verdict.value
        colour = {"not_recovered": "red", "recovered": "green"}.get(verdict, "yellow")
        console.print(Text.assemble(styled(verdict, colour), f" — {result.recovery.explanation}"))
        for s in result.recovery.symbols:
            mean = "—" if s.expectancy_pct is None else f"{s.expectancy_pct:+.4f} %"
            console.print(Text(f"  {s.crypto_symbol}: {s.n_trades} trade(s), mean {mean}"))
        if result.switched:
            console.print(styled(f"{result.switched} turned ON (audited)", "bold red"))
        for line in result.proposals:
            console.print(Text(f"next: {line}"))
        console.print(Text(f"incident: {result.attachment}"))
    raise typer.Exit(result.exit_code)
