"""`cvntrade incident`: the incident log the runbook steps attach to.

open, note, show, list; export / close (the OPERATIONS.md section §17.N with charts) and
checklist (the runbook's post-incident checklist, item by item).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from cvntrade.cli.common import (
    ID_MAX,
    LIST_LIMIT_MAX,
    clock_from,
    console,
    default_actor,
    open_engine,
    print_json,
)

if TYPE_CHECKING:
    from cvntrade.app import AppContext
    from cvntrade.runbook.checklist import ChecklistEntry
    from cvntrade.runbook.incident_export import ExportResult

app = typer.Typer(
    help=(
        "Incident log: one record per page, notes, and a timeline of every audited action "
        "attached to it (runbook steps, config flips, alias moves); the write-up in "
        "OPERATIONS.md (export, close) and the post-incident checklist."
    ),
    no_args_is_help=True,
)

ACTOR_HELP = "Who (default: $CVN_ACTOR or login name)."
OPS_HELP = "The operations log (default: $CVN_OPERATIONS_FILE, else $CVN_HOME/OPERATIONS.md)."
CHARTS_HELP = "Where the PNG charts go (default: OPERATIONS_assets/incident-N/ beside the file)."
NOW_HELP = "Record changes at this UTC time (ISO-8601; for rehearsals and tests)."


def _ctx(actor: str | None, now: str | None) -> AppContext:
    from cvntrade.app import open_app

    return open_app(actor=actor or default_actor(), clock=clock_from(now))


def _print_checklist(entries: tuple[ChecklistEntry, ...]) -> None:
    table = Table(title="Post-incident checklist")
    for column in ("item", "state", "note", "when (UTC)", "by"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(
            e.item,
            e.state,
            e.note or "",
            "" if e.at is None else f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.actor or "",
        )
    console.print(table)


def _print_export(result: ExportResult, as_json: bool) -> None:
    if as_json:
        print_json({**dataclasses.asdict(result), "heading": result.heading})
        return
    how = "replaced" if result.replaced else "appended"
    console.print(
        f"incident #{result.incident_id}: {result.heading} {how} in {result.path}", highlight=False
    )
    for chart in result.charts:
        console.print(f"chart: {chart}", highlight=False)
    _print_checklist(result.checklist)


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
    from cvntrade.runbook.checklist import read_checklist

    checklist = read_checklist(open_engine(), incident_id)
    if as_json:
        print_json({**dataclasses.asdict(timeline), "checklist": checklist})
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
    _print_checklist(checklist)


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


@app.command("export")
def export_cmd(
    incident_id: int = typer.Argument(..., help="Incident id."),
    operations_file: Path = typer.Option(None, "--operations-file", help=OPS_HELP),
    charts_dir: Path = typer.Option(None, "--charts-dir", help=CHARTS_HELP),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    now: str = typer.Option(None, "--now", help=NOW_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write the incident up in OPERATIONS.md as section §17.N, with PNG charts beside it.

    N is one more than the highest §17.<n> heading already in the file (other sections and
    text are kept byte for byte). Exporting the same incident again replaces its own section
    in place, with the same number. The section holds severity, status, times, the full
    timeline (audit rows, notes), the alert events and their acknowledgements, the diagnosis,
    the path decision, per-symbol expectancy 48 h before / after the rollback, the checklist
    and the charts (per-crypto expectancy, probability distribution, PSI). Also settles the
    checklist items the records decide, runs the gate re-check once, and marks `logged` done.
    """
    from cvntrade.runbook.incident_export import export_report

    result = export_report(
        _ctx(actor, now), incident_id, path=operations_file, charts_dir=charts_dir
    )
    _print_export(result, as_json)


@app.command("close")
def close_cmd(
    incident_id: int = typer.Argument(..., help="Incident id."),
    status: str = typer.Option("resolved", "--status", help="resolved or false_positive."),
    reason: str = typer.Option("", "--reason", help="Why it is closed (audited)."),
    operations_file: Path = typer.Option(None, "--operations-file", help=OPS_HELP),
    charts_dir: Path = typer.Option(None, "--charts-dir", help=CHARTS_HELP),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    now: str = typer.Option(None, "--now", help=NOW_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Close the incident (status change, audited), then export it (see `incident export`)."""
    from cvntrade.runbook.incident_export import close_incident

    result = close_incident(
        _ctx(actor, now),
        incident_id,
        status=status,
        reason=reason,
        path=operations_file,
        charts_dir=charts_dir,
    )
    _print_export(result, as_json)


@app.command("checklist")
def checklist_cmd(
    incident_id: int = typer.Argument(..., help="Incident id."),
    done: str = typer.Option(None, "--done", help="Mark this item done (needs --note)."),
    not_applicable: str = typer.Option(
        None, "--na", help="Mark this item not applicable (needs --note)."
    ),
    note: str = typer.Option("", "--note", help="Why (kept with the item and audited)."),
    run_gate: bool = typer.Option(
        False, "--run-gate", help="Re-check the gate (`gate check`) for the incident's symbols."
    ),
    actor: str = typer.Option(None, "--actor", help=ACTOR_HELP),
    now: str = typer.Option(None, "--now", help=NOW_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the checklist as JSON."),
) -> None:
    """The runbook's post-incident checklist, item by item; every change is audited.

    Items: logged (in OPERATIONS.md §17.N: set by `incident export`), root_cause (path A/B/C:
    from the remediation note), gate_rechecked (`--run-gate`, or the export), story_reopened
    (CVN-N001-EE-S02 reopened as abandoned, if focal is abandoned), committee_session
    (pr_review session, if the variant is abandoned). Without options: prints the checklist.
    """
    from cvntrade.errors import UserInputError
    from cvntrade.runbook.checklist import mark, parse_item, read_checklist
    from cvntrade.runbook.gate_recheck import recheck_gate

    if done is not None and not_applicable is not None:
        raise UserInputError("give --done or --na, not both")
    if note and done is None and not_applicable is None:
        raise UserInputError("--note goes with --done ITEM or --na ITEM")
    change = None
    if done is not None:
        change = (parse_item(done), "done")
    elif not_applicable is not None:
        change = (parse_item(not_applicable), "not_applicable")
    if change is not None or run_gate:
        ctx = _ctx(actor, now)
        if change is not None:
            mark(ctx, incident_id, change[0], change[1], note)
        if run_gate:
            recheck_gate(ctx, incident_id)
        engine = ctx.engine
    else:
        engine = open_engine()
    entries = read_checklist(engine, incident_id)
    if as_json:
        print_json(entries)
        return
    _print_checklist(entries)
