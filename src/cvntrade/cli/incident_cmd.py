"""`cvntrade incident`: the incident log the runbook steps attach to (open, note, show, list)."""

from __future__ import annotations

import typer
from rich.table import Table

from cvntrade.cli.common import (
    ID_MAX,
    LIST_LIMIT_MAX,
    console,
    default_actor,
    open_engine,
    print_json,
)

app = typer.Typer(
    help=(
        "Incident log: one record per page, notes, and a timeline of every audited action "
        "attached to it (runbook steps, config flips, alias moves)."
    ),
    no_args_is_help=True,
)

ACTOR_HELP = "Who (default: $CVN_ACTOR or login name)."


@app.command("open")
def open_cmd(
    title: str = typer.Option(..., "--title", help="One line: what is happening."),
    alert: str = typer.Option("expectancy_negative_focal", "--alert", help="The alert that paged."),
    severity: str = typer.Option("P1", "--severity", help="P1 (page) … P4."),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the incident as JSON."),
) -> None:
    """Open an incident (audited); runbook steps then attach to it."""
    from cvntrade.runbook import open_incident

    incident = open_incident(
        open_engine(), alert=alert, title=title, severity=severity, actor=actor or default_actor()
    )
    if as_json:
        print_json(incident)
        return
    console.print(
        f"incident #{incident.id} opened ({incident.severity}, {incident.alert}): {incident.title}",
        highlight=False,
    )


@app.command("note")
def note_cmd(
    incident_id: int = typer.Argument(..., min=1, max=ID_MAX, help="Incident id."),
    text: str = typer.Argument(..., help="The note."),
    status: str = typer.Option(
        None, "--status", help="Also move it to open, mitigated, resolved or false_positive."
    ),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the note as JSON."),
) -> None:
    """Add a note to an incident, optionally changing its status (audited)."""
    from cvntrade.runbook import add_note

    incident, note = add_note(
        open_engine(), incident_id, text, actor=actor or default_actor(), status=status
    )
    if as_json:
        print_json({"incident": incident, "note": note})
        return
    console.print(
        f"incident #{incident.id} ({incident.status}): note added by {note.actor}",
        highlight=False,
    )


@app.command("show")
def show_cmd(
    incident_id: int = typer.Argument(..., min=1, max=ID_MAX, help="Incident id."),
    as_json: bool = typer.Option(False, "--json", help="Print the incident and timeline as JSON."),
) -> None:
    """An incident and its timeline: notes and attached audited actions, oldest first."""
    from cvntrade.runbook import incident_timeline

    timeline = incident_timeline(open_engine(), incident_id)
    if as_json:
        print_json(timeline)
        return
    incident = timeline.incident
    closed = f", closed {incident.closed_at:%Y-%m-%d %H:%M:%S}" if incident.closed_at else ""
    console.print(
        f"incident #{incident.id} [{incident.status}] {incident.severity} {incident.alert}: "
        f"{incident.title}\nopened {incident.opened_at:%Y-%m-%d %H:%M:%S} UTC by "
        f"{incident.opened_by}{closed}",
        highlight=False,
    )
    for entry in timeline.entries:
        console.print(
            f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.actor}  {entry.kind}  {entry.text}",
            highlight=False,
            markup=False,
        )


@app.command("list")
def list_cmd(
    alert: str = typer.Option(None, "--alert", help="Only this alert."),
    status: str = typer.Option(None, "--status", help="Only this status."),
    open_only: bool = typer.Option(False, "--open", help="Only ongoing (open or mitigated)."),
    limit: int = typer.Option(
        50, "--limit", min=1, max=LIST_LIMIT_MAX, help="At most this many, newest first."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Incidents, newest first."""
    from cvntrade.runbook import list_incidents

    found = list_incidents(
        open_engine(), alert=alert, status=status, ongoing_only=open_only, limit=limit
    )
    if as_json:
        print_json(found)
        return
    table = Table(title="Incidents")
    for column in ("id", "status", "severity", "alert", "title", "opened (UTC)", "by"):
        table.add_column(column)
    for i in found:
        table.add_row(
            str(i.id),
            i.status,
            i.severity,
            i.alert,
            i.title,
            f"{i.opened_at:%Y-%m-%d %H:%M:%S}",
            i.opened_by,
        )
    console.print(table)
