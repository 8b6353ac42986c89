"""`cvntrade drill`: rehearsal data for the runbook."""

from __future__ import annotations

import typer

from cvntrade.cli.common import clock_from, console, default_actor, open_engine, print_json

app = typer.Typer(
    help="Write rehearsal data so operators can practise the runbook.", no_args_is_help=True
)


@app.command("journal")
def journal_cmd(
    scenario: str = typer.Option(
        ..., "--scenario", help="focal-regression (>= 2 negative symbols), single-symbol, healthy."
    ),
    seed: int = typer.Option(7, "--seed", help="Random seed; same seed and --now, same history."),
    now: str = typer.Option(None, "--now", help="End the history at this UTC time (ISO-8601)."),
    actor: str = typer.Option(None, "--actor", help="Who (default: $CVN_ACTOR or login name)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Replace the previous drill trades with a 21-day, 5-symbol history for SCENARIO.

    Binary champions traded until 14 days ago, focal champions since. Real trades
    (source engine/import) are never touched.
    """
    from cvntrade.drill import run_journal_drill

    result = run_journal_drill(
        open_engine(), scenario, seed=seed, actor=actor or default_actor(), clock=clock_from(now)
    )
    if as_json:
        print_json(result)
        return
    console.print(
        f"drill {result.scenario}: {result.trades_written} trades written "
        f"(replaced {result.trades_replaced}), history ends {result.now:%Y-%m-%d %H:%M} UTC; "
        f"negative over 48 h: {', '.join(result.negative_symbols) or 'none'}"
    )
