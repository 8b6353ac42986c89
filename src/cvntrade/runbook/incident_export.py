"""`incident export` / `incident close`: write an incident up in OPERATIONS.md, with charts.

`export_report` runs, under the operations file's lock:

1. read the file and decide the section: the incident's own section (re-export: same number,
   replaced in place) or `§17.<next free>`; a hand-edited section is a conflict (exit 3);
2. `auto_checklist` (root cause from the remediation note or the rollback, gate re-check) —
   story / committee items are left as they are, they need `focal_abandoned`;
3. gather the report from the database, draw the three charts beside the file
   (`OPERATIONS_assets/incident-<id>/` by default), render the section, write the file
   atomically;
4. mark the checklist item `logged` done ("§17.N in PATH").

`close_incident` moves the incident to `resolved` (or `false_positive`), audited, then exports.
Input is checked before anything is written: an unknown incident, a bad path or status, a
control character changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cvntrade.db.engine import write_transaction
from cvntrade.domain import ChecklistItem, ChecklistState
from cvntrade.errors import UserInputError
from cvntrade.runbook import operations_file as ops
from cvntrade.runbook.checklist import ChecklistEntry, auto_checklist, read_checklist, set_item
from cvntrade.runbook.incidents import CLOSED_STATUSES, fetch_incident, get_incident, update_status
from cvntrade.text import check_text

if TYPE_CHECKING:
    from cvntrade.app import AppContext

ASSETS_DIR = "OPERATIONS_assets"
PATH_MAX_LEN = 1000


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where the incident was written: the file, its section number, whether an earlier
    section of the same incident was replaced, the charts and the checklist afterwards."""

    incident_id: int
    path: Path
    section: int
    replaced: bool
    charts: tuple[Path, ...]
    checklist: tuple[ChecklistEntry, ...]

    @property
    def heading(self) -> str:
        """`§17.N`."""
        return f"§{ops.CHAPTER}.{self.section}"


def operations_path(ctx: AppContext, path: Path | None) -> Path:
    """The operations file: `path`, else `CVN_OPERATIONS_FILE`, else `CVN_HOME/OPERATIONS.md`."""
    if path is None:
        default = ctx.settings.effective_operations_file
        if default == ctx.settings.home / "OPERATIONS.md":
            default.parent.mkdir(parents=True, exist_ok=True)
        path = default
        field = "CVN_OPERATIONS_FILE"
    else:
        field = "--operations-file"
    check_text(str(path), field, max_len=PATH_MAX_LEN)
    return ops.validate_path(path.expanduser().absolute(), field)


def _charts_dir(path: Path, incident_id: int, charts_dir: Path | None) -> Path:
    if charts_dir is None:
        return path.parent / ASSETS_DIR / f"incident-{incident_id}"
    check_text(str(charts_dir), "--charts-dir", max_len=PATH_MAX_LEN)
    resolved = charts_dir.expanduser().absolute()
    if resolved.exists() and not resolved.is_dir():
        raise UserInputError(f"--charts-dir {charts_dir} exists and is not a directory")
    return resolved


def export_report(
    ctx: AppContext,
    incident_id: int,
    *,
    path: Path | None = None,
    charts_dir: Path | None = None,
) -> ExportResult:
    """Write (or rewrite) the incident's section `§17.N` and its charts; see the module doc."""
    from cvntrade.runbook.incident_charts import write_incident_charts
    from cvntrade.runbook.incident_markdown import incident_markdown
    from cvntrade.runbook.incident_report import gather_report

    get_incident(ctx.engine, incident_id)  # NotFoundError before anything else
    target = operations_path(ctx, path)
    directory = _charts_dir(target, incident_id, charts_dir)
    with ops.locked(target):
        text = ops.read_text(target)
        existing = ops.find_section(text, incident_id)  # ConflictError: nothing written
        number = ops.next_number(text) if existing is None else existing.number
        logged_note = f"§{ops.CHAPTER}.{number} in {target}"
        auto_checklist(ctx, incident_id, focal_abandoned=None)
        report = gather_report(ctx.engine, incident_id)
        report = replace(
            report,
            checklist=tuple(
                ChecklistEntry(c.item, ChecklistState.DONE.value, logged_note)
                if c.item == ChecklistItem.LOGGED
                else c
                for c in report.checklist
            ),
        )
        charts = write_incident_charts(report, directory)
        links = [Path(os.path.relpath(c, target.parent)).as_posix() for c in charts]
        new_text, placed, replaced = ops.place_section(
            text, incident_id, lambda n: incident_markdown(report, n, links)
        )
        assert placed == number
        ops.write_atomically(target, new_text)
        set_item(
            ctx,
            incident_id,
            ChecklistItem.LOGGED,
            ChecklistState.DONE,
            note=logged_note,
            data={"section": number, "path": str(target)},
        )
    return ExportResult(
        incident_id,
        target,
        number,
        replaced,
        tuple(charts),
        read_checklist(ctx.engine, incident_id),
    )


def export_incident(
    ctx: AppContext,
    incident_id: int,
    *,
    path: Path | None = None,
    charts_dir: Path | None = None,
) -> Path:
    """Write the incident up in the operations file; returns that file's path.

    The section number is in the `logged` checklist item (`data["section"]`) and in
    `export_report`'s result, which this wraps.
    """
    return export_report(ctx, incident_id, path=path, charts_dir=charts_dir).path


def close_incident(
    ctx: AppContext,
    incident_id: int,
    *,
    status: str = "resolved",
    reason: str = "",
    path: Path | None = None,
    charts_dir: Path | None = None,
) -> ExportResult:
    """Close the incident (`resolved` or `false_positive`, audited; no-op if already so), then
    export it. A failed export leaves it closed: run `cvntrade incident export N` again."""
    if status not in CLOSED_STATUSES:
        raise UserInputError(
            f"invalid --status {status!r} to close: choose one of {', '.join(CLOSED_STATUSES)}"
        )
    reason = reason.strip() or f"closed as {status}"
    check_text(reason, "--reason")
    get_incident(ctx.engine, incident_id)
    target = operations_path(ctx, path)
    _charts_dir(target, incident_id, charts_dir)
    ops.find_section(ops.read_text(target), incident_id)  # a conflict changes nothing
    with write_transaction(ctx.engine) as conn:
        incident = fetch_incident(conn, incident_id)
        update_status(conn, incident, status, actor=ctx.actor, at=ctx.clock(), reason=reason)
    return export_report(ctx, incident_id, path=target, charts_dir=charts_dir)
