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


@app.command("scenario")
def scenario_cmd(
    cause: str = typer.Option(
        ...,
        "--cause",
        help="distribution-drift, calibration-drift, concept-drift, implementation-regression "
        "or healthy (docs/drills.md).",
    ),
    symbols: str = typer.Option(
        "BTCUSDC,ETHUSDC,SOLUSDC,XRPUSDC,ADAUSDC", "--symbols", help="Comma-separated symbols."
    ),
    seed: int = typer.Option(1, "--seed", help="Market and training seed."),
    home: str = typer.Option(
        None, "--home", help="The world's own CVN_HOME (default: ./drill-<cause>-<seed>)."
    ),
    now: str = typer.Option(
        None, "--now", help="The world's present (UTC, ISO-8601; default: this hour)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace a previous drill world in --home (never other homes)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Build an isolated world (own database, MLflow store and bars) where --cause happens.

    Binary and focal models are trained before trading starts, focal champions are promoted,
    then the paper engine trades the last 14 days through the event. The ground truth is in
    <home>/scenario.json. Point CVN_HOME at the world to run the runbook on it.
    """
    from pathlib import Path

    from cvntrade.clock import parse_utc, utc_now
    from cvntrade.drill.scenario import build_world, plan_world, result_dict

    at = utc_now() if now is None else parse_utc(now, field="--now")
    plan = plan_world(
        cause, seed=seed, symbols=[s.strip() for s in symbols.split(",") if s.strip()], now=at
    )
    target = Path(home) if home else Path(f"drill-{cause}-{seed}")
    progress = None if as_json else (lambda message: console.print(f"[dim]{message}[/dim]"))
    result = build_world(plan, target, force=force, progress=progress)
    if as_json:
        print_json(result_dict(result))
        return
    console.print(
        f"world {result.cause} (seed {result.seed}) built in {result.home} "
        f"in {result.duration_s:.0f} s: event at {result.event_at:%Y-%m-%d %H:%M}, "
        f"now {result.now:%Y-%m-%d %H:%M} UTC; {result.trades} trades, "
        f"{result.predictions} predictions; step 1 verdict {result.verdict} "
        f"(negative over 48 h: {', '.join(result.negative_symbols) or 'none'})"
    )
    console.print(
        f"use it: CVN_HOME={result.home} cvntrade runbook confirm --now "
        f"{result.now:%Y-%m-%dT%H:%MZ}"
    )
