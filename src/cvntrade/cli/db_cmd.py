"""`cvntrade db`: migrate the schema and show where it stands."""

from __future__ import annotations

import typer

from cvntrade.cli.common import console, open_engine, print_json

app = typer.Typer(
    help="Database schema: create/upgrade it and show its revision.", no_args_is_help=True
)


@app.command("upgrade")
def upgrade_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON: database and revision."),
) -> None:
    """Create or upgrade the schema to the newest revision (safe to run again)."""
    from cvntrade.db import upgrade
    from cvntrade.settings import get_settings, redact_url

    engine = open_engine(require_schema=False)
    revision = upgrade(engine)
    database = redact_url(get_settings().effective_database_url)
    if as_json:
        print_json({"database": database, "revision": revision})
        return
    console.print(f"database {database} at revision {revision}", markup=False, highlight=False)


@app.command("current")
def current_cmd(
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON: current and newest revision, up_to_date."
    ),
) -> None:
    """Print the schema revision of the database and whether it is the newest."""
    from cvntrade.db import current_revision, head_revision

    engine = open_engine(require_schema=False)
    current, head = current_revision(engine), head_revision()
    if as_json:
        print_json({"current": current, "head": head, "up_to_date": current == head})
        return
    state = (
        "up to date" if current == head else f"behind (newest is {head}; run `cvntrade db upgrade`)"
    )
    console.print(f"{current or 'none'} ({state})")
