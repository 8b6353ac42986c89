"""Entry point of `cvntrade`: registers the command groups and maps errors to exit codes."""

from __future__ import annotations

import os
import sys
import traceback

# MLflow prints INFO lines ("Creating initial MLflow database tables...") unless told otherwise;
# set before any command imports it. A user's own setting wins.
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
# Against a tracking server MLflow writes "View run … at: http://…" to stdout at the end of each
# run, which breaks `--json` output (found by the production-mode test).
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

import typer

from cvntrade.cli import (
    audit_cmd,
    config_cmd,
    console_cmd,
    data_cmd,
    db_cmd,
    demo_cmd,
    doctor_cmd,
    drill_cmd,
    expectancy_cmd,
    gate_cmd,
    incident_cmd,
    journal_cmd,
    models_cmd,
    monitor_cmd,
    runbook_cmd,
    runbook_remediate_cmd,
    runbook_run_cmd,
    trade_cmd,
    train_cmd,
    up_cmd,
    users_cmd,
)
from cvntrade.errors import CvnError, DependencyError, ExitCode

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 the answer is no (gate fails, alert fires, rollback not propagated); "
    "2 bad input, nothing changed; 3 conflict (stale --expect-version); 4 database, registry or "
    "exchange unreachable; 5 trading halted (ADR-71); 6 stored data inconsistent; "
    "70 internal error (a bug); 130 aborted."
)

app = typer.Typer(
    name="cvntrade",
    help=(
        "CVNTrade: train, gate, deploy, trade and operate per-symbol crypto ML models.\n\n"
        "Storage is CVN_DATABASE_URL (default: SQLite under CVN_HOME, ~/.cvntrade)."
    ),
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(db_cmd.app, name="db")
app.add_typer(config_cmd.app, name="config")
app.add_typer(audit_cmd.app, name="audit")
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
# remediate, escalate and run live in their own modules, registered on runbook_cmd.app on import
del runbook_remediate_cmd, runbook_run_cmd
app.add_typer(runbook_cmd.app, name="runbook")
app.add_typer(incident_cmd.app, name="incident")
app.add_typer(monitor_cmd.app, name="monitor")
app.add_typer(monitor_cmd.alerts_app, name="alerts")
app.command("console")(console_cmd.console_command)
app.add_typer(users_cmd.app, name="users")
app.command("doctor")(doctor_cmd.doctor_command)
app.command("up")(up_cmd.up_command)
app.command("demo")(demo_cmd.demo_command)


def warn_config_keys_in_environment(environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """Say so when an `ftf_config` key is set as an environment variable: it has no effect.

    `CVN_LOSS_FUNCTION=focal cvntrade train …` looks like it should train focal; the value lives
    in `ftf_config` (`cvntrade config set`) or the command's own option (`--loss`).
    """
    from cvntrade.config import CONFIG_KEYS

    ignored = sorted(key for key in CONFIG_KEYS if key in environ)
    for key in ignored:
        print(
            f"warning: {key} is set in the environment but is an ftf_config key: the "
            f"environment value is ignored; use `cvntrade config set {key}=…` (or the command's "
            "own option)",
            file=sys.stderr,
        )
    return ignored


def run() -> None:
    """Run the CLI; errors become one line on stderr with their exit code, never a traceback.

    Usage errors exit 2, `CvnError`s exit with their own code (see `ExitCode`). A database
    driver error that escaped translation (connection lost mid-command) is a dependency failure
    (exit 4). Anything else is a bug: its traceback is printed and the exit code is 70. Every
    line printed here is redacted: credentials never reach stderr.
    """
    from sqlalchemy.exc import DBAPIError

    from cvntrade.redaction import redact
    from cvntrade.registry.mlflow_errors import bound_mlflow_waits

    bound_mlflow_waits()
    warn_config_keys_in_environment(os.environ)
    try:
        result = app(standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: unknown option, bad type, missing value
        print(f"error: {redact(exc.format_message())} (see --help)", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(ExitCode.ABORTED)
    except CvnError as exc:
        print(f"error: {_one_line(redact(str(exc)))}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except DBAPIError as exc:
        if not exc.connection_invalidated and not _is_operational(exc):
            _crash(exc)
        print(f"error: database unavailable: {_one_line(redact(str(exc.orig)))}", file=sys.stderr)
        sys.exit(DependencyError.exit_code)
    except Exception as exc:  # a bug: crash loudly, but never print a secret
        _crash(exc)
    sys.exit(result if isinstance(result, int) else 0)


def _is_operational(exc: Exception) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError))


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return " ".join(lines) if lines else "(no message)"


def _crash(exc: BaseException) -> None:
    """A bug: print the traceback (redacted) and exit 70 (`ExitCode.INTERNAL`)."""
    from cvntrade.redaction import redact

    print(redact("".join(traceback.format_exception(exc))), file=sys.stderr, end="")
    print(
        "internal error (a bug in cvntrade, exit 70): please report it with the traceback above",
        file=sys.stderr,
    )
    sys.exit(ExitCode.INTERNAL)


if __name__ == "__main__":
    run()
