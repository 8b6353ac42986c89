"""`cvntrade runbook run`: the guided runbook flow (registered on the `runbook` Typer app)."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from cvntrade.cli.common import console, default_actor
from cvntrade.cli.runbook_cmd import ACTOR_HELP, INCIDENT_HELP, app


@app.command("run")
def run_cmd(
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Non-interactive: take every recommended answer."
    ),
    incident: int = typer.Option(None, "--incident", help=INCIDENT_HELP),
    now: str = typer.Option(None, "--now", help="Act as of this UTC time (ISO-8601)."),
    symbols: str = typer.Option(
        "auto", "--symbols", help="'auto' (step 1's negative symbols) or BTCUSDC,ETHUSDC,…"
    ),
    reason: str = typer.Option(None, "--reason", help="Why (kept in every audit row)."),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
) -> None:
    """The whole runbook, guided, from the alert to the incident report.

    confirm → check-config → rollback → diagnose → remediate → escalation status → report.

    Stops where the runbook says: a `transient` alert (false positive, recorded) or a `stale`
    one (focal not active) ends the run with exit 0. Asks before the rollback and for the path
    (default: the diagnosis' recommendation); --yes takes the recommended answers. Every step
    is the same audited function as its own command and attaches to the incident (opened when
    step 1 says `real` and none is open). Ends with a table of the steps and their durations.
    Exit 0 done (or stopped as the runbook says); 1 expectancy has not recovered since an
    earlier rollback (escalation proposed); 2 bad input; 130 a prompt was declined.
    """
    from cvntrade.app import open_app
    from cvntrade.clock import parse_utc
    from cvntrade.runbook import parse_symbols
    from cvntrade.runbook.guided import run_runbook

    parsed = parse_symbols(symbols)
    at = None if now is None else parse_utc(now, field="--now")
    ctx = open_app(actor=actor or default_actor())

    def say(line: str) -> None:
        console.print(Text(line), highlight=False)

    result = run_runbook(
        ctx, yes=yes, incident_id=incident, now=at, symbols=parsed, reason=reason, say=say
    )
    table = Table(title=f"runbook run — incident #{result.incident_id or '—'}")
    for column in ("step", "seconds", "outcome"):
        table.add_column(column, overflow="fold")
    for step in result.steps:
        table.add_row(Text(step.name), f"{step.duration_s:.2f}", Text(step.outcome))
    console.print(table)
    if result.stopped:
        console.print(Text(f"stopped: {result.stopped}"))
    raise typer.Exit(result.exit_code)
