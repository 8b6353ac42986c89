"""`cvntrade config`: show, change (atomically, audited) and trace `ftf_config`."""

from __future__ import annotations

import typer
from rich.table import Table

from cvntrade.cli.common import LIST_LIMIT_MAX, console, default_actor, open_engine, print_json

app = typer.Typer(
    help="The ftf_config row (id = 1) the trainer and runbook read: show, set, history.",
    no_args_is_help=True,
)


@app.command("show")
def show_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show the active configuration with its version and last change time."""
    from cvntrade.config import read_config

    snapshot = read_config(open_engine())
    if as_json:
        print_json(
            {
                "base_env": dict(snapshot.env),
                "version": snapshot.version,
                "updated_at": snapshot.updated_at,
            }
        )
        return
    table = Table(
        title=f"ftf_config  version {snapshot.version}  updated_at {snapshot.updated_at} UTC"
    )
    table.add_column("key")
    table.add_column("value")
    for key in sorted(snapshot.env):
        table.add_row(key, snapshot.env[key])
    console.print(table)


@app.command("set")
def set_cmd(
    assignments: list[str] = typer.Argument(
        ..., metavar="KEY=VALUE...", help="One or more assignments, applied in one transaction."
    ),
    reason: str = typer.Option(..., "--reason", help="Why (kept in history and audit log)."),
    actor: str = typer.Option(None, "--actor", help="Who (default: $CVN_ACTOR or login name)."),
    expect_version: int = typer.Option(
        None, "--expect-version", help="Fail unless the current version is N (optimistic lock)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Change one or more keys atomically; bumps version, writes history and audit.

    Keys: CVN_LOSS_FUNCTION (binary:logistic|focal), CVN_FOCAL_GAMMA (>= 0),
    CVN_FOCAL_ALPHA (0 < a < 1), CVN_CALIBRATION (none|temperature_scaling).
    A stale --expect-version exits 3 and changes nothing; an invalid key or value exits 2.
    """
    from cvntrade.config import parse_assignments, set_config

    changes = parse_assignments(assignments)
    change = set_config(
        open_engine(),
        changes,
        reason=reason,
        actor=actor or default_actor(),
        expect_version=expect_version,
    )
    if as_json:
        print_json(
            {
                "changed_keys": change.changed_keys,
                "version_before": change.before.version,
                "version": change.after.version,
                "base_env": dict(change.after.env),
                "updated_at": change.after.updated_at,
            }
        )
        return
    if not change.changed:
        console.print(f"no change: already set (version {change.after.version})")
        return
    for key in change.changed_keys:
        console.print(f"{key}: {change.before.env.get(key)} → {change.after.env[key]}")
    console.print(f"version {change.before.version} → {change.after.version} by {change.actor}")


@app.command("history")
def history_cmd(
    limit: int = typer.Option(
        20, "--limit", min=1, max=LIST_LIMIT_MAX, help="How many changes to show."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Past changes, newest first: version, when, who, why, old → new."""
    from cvntrade.config import config_history

    entries = config_history(open_engine(), limit=limit)
    if as_json:
        print_json(
            [
                {
                    "version": e.version,
                    "changed_at": e.changed_at,
                    "actor": e.actor,
                    "reason": e.reason,
                    "changes": {k: {"before": b, "after": a} for k, (b, a) in e.diff.items()},
                }
                for e in entries
            ]
        )
        return
    table = Table(title="ftf_config history")
    for column in ("version", "changed_at (UTC)", "actor", "reason", "changes"):
        table.add_column(column)
    for e in entries:
        changes = ", ".join(f"{k}: {b} → {a}" for k, (b, a) in e.diff.items())
        table.add_row(str(e.version), str(e.changed_at), e.actor, e.reason, changes)
    console.print(table)
