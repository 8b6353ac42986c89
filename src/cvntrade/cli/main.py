"""Entry point of `cvntrade`: registers the command groups and maps errors to exit codes."""

from __future__ import annotations

import sys

import typer

from cvntrade.cli import (
    config_cmd,
    data_cmd,
    db_cmd,
    drill_cmd,
    expectancy_cmd,
    gate_cmd,
    incident_cmd,
    journal_cmd,
    models_cmd,
    monitor_cmd,
    runbook_cmd,
    trade_cmd,
    train_cmd,
)
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
app.add_typer(data_cmd.app, name="data")
app.add_typer(models_cmd.app, name="models")
app.add_typer(trade_cmd.app, name="trade")
app.add_typer(trade_cmd.kill_switch_app, name="kill-switch")
app.add_typer(trade_cmd.halt_app, name="halt")
app.command("train")(train_cmd.train_command)
app.command("sweep")(gate_cmd.sweep_command)
app.add_typer(gate_cmd.gate_app, name="gate")
app.command("promote")(gate_cmd.promote_command)
app.add_typer(runbook_cmd.app, name="runbook")
app.add_typer(incident_cmd.app, name="incident")
app.add_typer(monitor_cmd.app, name="monitor")
app.add_typer(monitor_cmd.alerts_app, name="alerts")


def run() -> None:
    """Run the CLI; errors become one line on stderr with their exit code, never a traceback.

    Usage errors exit 2, `CvnError`s exit with their own code (2 input, 3 conflict, 4 dependency).
    """
    try:
        result = app(standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: unknown option, bad type, missing value
        print(f"error: {exc.format_message()} (see --help)", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    except CvnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    run()
