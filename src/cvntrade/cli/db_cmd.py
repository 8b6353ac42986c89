"""`cvntrade db`: migrate the schema and show where it stands."""

from __future__ import annotations

import typer

from cvntrade.cli.common import console, open_engine

app = typer.Typer(
    help="Database schema: create/upgrade it and show its revision.", no_args_is_help=True
)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Create or upgrade the schema to the newest revision (safe to run again)."""
    from cvntrade.db import upgrade
    from cvntrade.settings import get_settings, redact_url

    engine = open_engine(require_schema=False)
    revision = upgrade(engine)
    console.print(
        f"database {redact_url(get_settings().effective_database_url)} at revision {revision}"
    )


@app.command("current")
def current_cmd() -> None:
    """Print the schema revision of the database and whether it is the newest."""
    from cvntrade.db import current_revision, head_revision

    engine = open_engine(require_schema=False)
    current, head = current_revision(engine), head_revision()
    state = (
        "up to date" if current == head else f"behind (newest is {head}; run `cvntrade db upgrade`)"
    )
    console.print(f"{current or 'none'} ({state})")
