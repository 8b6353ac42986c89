"""`cvntrade runbook`: the immediate actions of `expectancy_negative_focal`, one command each.

`confirm` (step 1), `check-config` (step 2) and `rollback` (step 3) return typed results, print
them as text or `--json`, write an audit row and attach to an incident (`--incident ID`, else
the single open incident of the alert). Heavy imports (MLflow) happen only in `rollback`, after
its arguments are validated.
"""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from cvntrade.cli.common import (
    clock_from,
    console,
    default_actor,
    fmt_pct,
    line,
    open_engine,
    print_json,
    styled,
)

app = typer.Typer(
    help=(
        "Runbook expectancy_negative_focal: confirm the alert, check the config, roll back "
        "within the 60 s SLA. Every step is audited and attaches to an incident."
    ),
    no_args_is_help=True,
)

INCIDENT_HELP = "Attach to this incident (default: the only open one for the alert, if any)."
ACTOR_HELP = "Who (default: $CVN_ACTOR or login name)."


@app.command("confirm")
def confirm_cmd(
    incident: int = typer.Option(None, "--incident", help=INCIDENT_HELP),
    now: str = typer.Option(None, "--now", help="Evaluate as of this UTC time (ISO-8601)."),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Step 1: is the alert real? Per-symbol 48 h focal expectancy and trade count.

    `real` with >= 2 negative symbols; `transient` with 0-1, which is logged as a false-positive
    incident with what to check next. Exit code 0 either way.
    """
    from cvntrade.runbook import confirm

    result = confirm(
        open_engine(), actor=actor or default_actor(), incident_id=incident, clock=clock_from(now)
    )
    if as_json:
        print_json(result)
        return
    table = Table(title=f"Focal expectancy over {result.window_hours:g} h, percent net")
    for column in ("crypto_symbol", "expectancy_48h", "n_trades", ""):
        table.add_column(column)
    for row in result.symbols:
        flag = styled("NEGATIVE", "red") if row.negative else ""
        table.add_row(row.crypto_symbol, fmt_pct(row.expectancy_pct), str(row.n_trades), flag)
    console.print(table)
    negative = ", ".join(result.negative_symbols) or "none"
    console.print(
        line(
            "verdict: ",
            styled(result.verdict, "bold"),
            f" — {len(result.negative_symbols)} negative symbol(s): {negative}",
        )
    )
    console.print(f"incident: {result.attachment}")
    for step in result.next_steps:
        console.print(f"next: {step}")


@app.command("check-config")
def check_config_cmd(
    incident: int = typer.Option(None, "--incident", help=INCIDENT_HELP),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Step 2: is focal still the configured loss? `active`, or `stale` (acknowledge, no action)."""
    from cvntrade.runbook import check_config

    result = check_config(open_engine(), actor=actor or default_actor(), incident_id=incident)
    if as_json:
        print_json(result)
        return
    console.print(
        line(
            "verdict: ",
            styled(result.verdict, "bold"),
            f" — CVN_LOSS_FUNCTION={result.loss_function} "
            f"CVN_FOCAL_GAMMA={result.focal_gamma} CVN_FOCAL_ALPHA={result.focal_alpha} "
            f"(version {result.version}, updated {result.updated_at:%Y-%m-%d %H:%M:%S} UTC)",
        )
    )
    console.print(f"incident: {result.attachment}")
    console.print(f"next: {result.advice}")


@app.command("rollback")
def rollback_cmd(
    reason: str = typer.Option(..., "--reason", help="Why (kept in every audit row)."),
    symbols: str = typer.Option(
        "auto", "--symbols", help="'auto' (step 1's negative symbols) or BTCUSDC,ETHUSDC,…"
    ),
    strategy: str = typer.Option("SL0.5_TP1_H4", "--strategy", help="Strategy of the models."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan, change nothing."),
    wait_s: float = typer.Option(
        30.0, "--wait-s", help="How long to wait for the engines to switch (0: check once)."
    ),
    heartbeat_max_age_s: float = typer.Option(
        10.0, "--heartbeat-max-age-s", help="Engines with an older heartbeat are not live."
    ),
    incident: int = typer.Option(None, "--incident", help=INCIDENT_HELP),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Step 3: CVN_LOSS_FUNCTION=binary:logistic, each focal champion → previous binary version.

    One audited alias move per symbol, then waits until the live engines serve the new versions.
    Idempotent: re-run to finish an interrupted rollback. Exit 1 if a symbol did not switch in
    time (everything else is done).
    """
    from cvntrade.registry import MlflowRegistry
    from cvntrade.runbook import parse_symbols, rollback
    from cvntrade.settings import get_settings

    parsed = parse_symbols(symbols)
    engine = open_engine()
    registry = MlflowRegistry(get_settings().effective_tracking_uri)

    def progress(line: str) -> None:
        print(line, file=sys.stderr if as_json else sys.stdout, flush=True)

    result = rollback(
        engine,
        registry,
        reason=reason,
        actor=actor or default_actor(),
        symbols=parsed,
        strategy=strategy,
        dry_run=dry_run,
        wait_s=wait_s,
        incident_id=incident,
        heartbeat_max_age_s=heartbeat_max_age_s,
        progress=progress,
    )
    if as_json:
        print_json(result)
    else:
        from cvntrade.runbook.report import rollback_lines

        for line in rollback_lines(result):
            console.print(line, highlight=False)
    if result.propagation is not None and not result.propagation.complete:
        raise typer.Exit(1)
