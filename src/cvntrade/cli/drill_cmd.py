"""`cvntrade drill`: rehearsal data for the runbook."""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from cvntrade.cli.common import (
    clock_from,
    console,
    default_actor,
    open_engine,
    print_json,
    styled,
)

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
    into_database: bool = typer.Option(
        False,
        "--into-database",
        help=(
            "Write the drill rows into CVN_DATABASE_URL (the database in use) instead of the "
            "drill's own home $CVN_HOME/drill/cvntrade.db; runbook decisions on them are marked "
            "rehearsal."
        ),
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Replace the previous drill trades with a 21-day, 5-symbol history for SCENARIO.

    Binary champions traded until 14 days ago, focal champions since. Real trades
    (source engine/import) are never touched. By default the drill writes into its own
    database ($CVN_HOME/drill/cvntrade.db, created and migrated on first use) so a rehearsal
    can never move production; rehearse against it with CVN_DATABASE_URL set to the URL printed.
    """
    from cvntrade.drill import run_journal_drill
    from cvntrade.drill.journal_drill import SCENARIOS
    from cvntrade.errors import UserInputError

    if scenario not in SCENARIOS:  # checked before the drill home is created
        raise UserInputError(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    engine, url = (open_engine(), None) if into_database else _drill_home_engine()
    result = run_journal_drill(
        engine, scenario, seed=seed, actor=actor or default_actor(), clock=clock_from(now)
    )
    if as_json:
        print_json({**_as_dict(result), "database": url or "CVN_DATABASE_URL"})
        return
    if url is not None:
        console.print(f"drill home: {url} (rehearse with CVN_DATABASE_URL={url})")
    console.print(
        f"drill {result.scenario}: {result.trades_written} trades written "
        f"(replaced {result.trades_replaced}), history ends {result.now:%Y-%m-%d %H:%M} UTC; "
        f"negative over 48 h: {', '.join(result.negative_symbols) or 'none'}"
    )


def drill_database_url() -> str:
    """The drill's own SQLite database under `$CVN_HOME/drill/` (never the production one)."""
    from cvntrade.settings import get_settings

    return f"sqlite:///{get_settings().home / 'drill' / 'cvntrade.db'}"


def _drill_home_engine() -> tuple[Engine, str]:
    """An engine on the drill's own database, migrated to the newest schema."""
    from cvntrade.db import create_db_engine, upgrade

    url = drill_database_url()
    engine = create_db_engine(url)
    upgrade(engine)
    return engine, url


def _as_dict(result: object) -> dict[str, object]:
    import dataclasses

    assert dataclasses.is_dataclass(result) and not isinstance(result, type)
    return dataclasses.asdict(result)


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
    progress = None if as_json else (lambda message: console.print(styled(message, "dim")))
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
