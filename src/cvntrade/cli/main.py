"""Entry point of the `cvntrade` command: registers the command groups, maps errors to exit codes."""

from __future__ import annotations

import sys

import typer

from cvntrade.cli import config_cmd, db_cmd, drill_cmd, expectancy_cmd, journal_cmd
from cvntrade.errors import CvnError

app = typer.Typer(
    name="cvntrade",
    help=(
        "CVNTrade: train, gate, deploy, trade and operate per-symbol crypto ML models.\n\n"
        "Storage is CVN_DATABASE_URL (default: SQLite under CVN_HOME, ~/.cvntrade)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(db_cmd.app, name="db")
app.add_typer(config_cmd.app, name="config")
app.add_typer(journal_cmd.app, name="journal")
app.add_typer(expectancy_cmd.app, name="expectancy")
app.add_typer(drill_cmd.app, name="drill")


def run() -> None:
    """Run the CLI; a `CvnError` becomes one line on stderr and its exit code, never a traceback."""
    try:
        app()
    except CvnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    run()
