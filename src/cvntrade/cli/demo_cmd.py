"""`cvntrade demo`: the whole `expectancy_negative_focal` incident on an isolated demo home."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from cvntrade.cli.common import console

DEFAULT_HOME = Path(".cvn-demo")
DEFAULT_SEED = 1
"""`cvntrade.demo.plan.DEFAULT_SEED`, repeated here so that every `cvntrade` command does not
import the demo (and pandas) at start-up; a unit test keeps the two equal."""


def demo_command(
    home: Path = typer.Option(
        DEFAULT_HOME,
        "--home",
        help=(
            "The demo's own CVN_HOME (SQLite database, MLflow store, bars, OPERATIONS.md). "
            "Recreated when it is a previous demo home (it has a .cvntrade-demo file); any "
            "other non-empty directory is refused (exit 2) and left alone."
        ),
    ),
    fast: bool = typer.Option(
        False,
        "--fast",
        help="3 symbols instead of 5, the sweep gate on one of them: the same story, faster.",
    ),
    seed: int = typer.Option(
        DEFAULT_SEED, "--seed", help="Market and model seed: same seed, same story and files."
    ),
) -> None:
    """Tell the whole incident: market, training, gate, focal promoted, paper trading, the
    alert firing by itself, `runbook run --yes`, recovery, OPERATIONS.md, a summary table.

    Runs on the embedded default under --home only; it never reads CVN_DATABASE_URL or
    MLFLOW_TRACKING_URI. docs/demo.md tells the story chapter by chapter.
    """
    from cvntrade.demo import demo_plan, prepare_demo_home, run_story
    from cvntrade.demo.narrative import RichNarrator, summary_table
    from cvntrade.demo.story import DemoStoryError

    plan = demo_plan(seed=seed, fast=fast)  # exit 2 on a bad seed, before the home is touched
    home = home.expanduser().absolute()
    recreated = prepare_demo_home(home)
    _use_home(home)
    console.print(
        f"cvntrade demo: seed {plan.seed}{' (fast)' if fast else ''}, "
        f"{len(plan.symbols)} symbols, home {home}"
        + (" (previous demo home recreated)" if recreated else "")
    )
    result = run_story(plan, home, RichNarrator(console))
    console.print(summary_table(result))
    console.print(
        f"demo finished: incident #{result.incident_id}, {result.section} in "
        f"{result.operations_file}; expectancy after the rollback: {result.recovery}"
    )
    if result.recovery != "recovered":
        raise DemoStoryError(
            f"on seed {plan.seed} expectancy did not recover after the rollback "
            f"({result.recovery}): the incident stays open (see {result.section})"
        )


def _use_home(home: Path) -> None:
    """Point this process at the demo home, so anything reading the environment (MLflow,
    `get_settings`) sees the demo's stores and never the user's production ones."""
    from cvntrade.drill.scenario import world_settings
    from cvntrade.settings import get_settings

    settings = world_settings(home)
    os.environ["CVN_HOME"] = str(home)
    os.environ["CVN_DATABASE_URL"] = settings.effective_database_url
    os.environ["MLFLOW_TRACKING_URI"] = settings.effective_tracking_uri
    os.environ["CVN_OPERATIONS_FILE"] = str(home / "OPERATIONS.md")
    get_settings.cache_clear()
