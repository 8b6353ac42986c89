"""The runbook's post-incident checklist, tracked item by item in `incident_checklist`.

Items (the runbook's order): `logged` (the incident is in OPERATIONS.md §17.N: set by
`incident export`), `root_cause` (the path A/B/C decision: from the `remediation` note),
`gate_rechecked` (`cvntrade gate check` for the incident's symbols, outcome per symbol),
`story_reopened` (story CVN-N001-EE-S02 reopened with verdict `abandoned`, only if focal is
abandoned), `committee_session` (committee `pr_review` session opened, only when abandoning the
variant). A missing row is `pending`; `done` and `not_applicable` are definite.

Every change is audited (`incident.checklist`, attached to the incident) in the same
transaction as the change; re-setting an item to what it already is changes nothing and writes
no audit row. We have no external tracker: reopening the story and opening the committee
session are recorded as audited actions (`story.reopen` on `story:CVN-N001-EE-S02` with
after={"verdict": "abandoned"}, `committee.open` on `committee:pr_review`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select, update

from cvntrade.audit import AuditEntry, write_audit
from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import incident_checklist, incidents
from cvntrade.domain import ChecklistItem, ChecklistState, IncidentStatus
from cvntrade.errors import UserInputError
from cvntrade.redaction import redact, redact_data
from cvntrade.runbook.incidents import fetch_incident
from cvntrade.text import check_text

if TYPE_CHECKING:
    from cvntrade.app import AppContext

ITEMS = tuple(item.value for item in ChecklistItem)
STATES = tuple(state.value for state in ChecklistState)
STORY = "CVN-N001-EE-S02"
STORY_TARGET = f"story:{STORY}"
COMMITTEE_TARGET = "committee:pr_review"
NOTE_MAX_LEN = 2000


@dataclass(frozen=True, slots=True)
class ChecklistEntry:
    """One checklist item: its state, why (note), structured detail, when and by whom."""

    item: str
    state: str
    note: str = ""
    data: Any = None
    at: dt.datetime | None = None
    actor: str | None = None

    @property
    def definite(self) -> bool:
        """`done` or `not_applicable`: nothing left to decide."""
        return self.state != ChecklistState.PENDING


def parse_item(text: str) -> str:
    """A checklist item name; `UserInputError` listing the valid ones otherwise."""
    item = text.strip().lower().replace("-", "_")
    if item not in ITEMS:
        raise UserInputError(f"unknown checklist item {text!r}: choose one of {', '.join(ITEMS)}")
    return item


def _entries(conn: Connection, incident_id: int) -> dict[str, ChecklistEntry]:
    rows = conn.execute(
        select(incident_checklist).where(incident_checklist.c.incident_id == incident_id)
    ).all()
    return {r.item: ChecklistEntry(r.item, r.state, r.note, r.data, r.at, r.actor) for r in rows}


def read_checklist(engine: Engine, incident_id: int) -> tuple[ChecklistEntry, ...]:
    """Every item in the runbook's order (`pending` when never set); exit 2 for no incident."""
    with engine.connect() as conn:
        fetch_incident(conn, incident_id)
        found = _entries(conn, incident_id)
    return tuple(
        found.get(item, ChecklistEntry(item, ChecklistState.PENDING.value)) for item in ITEMS
    )


def set_item(
    ctx: AppContext,
    incident_id: int,
    item: str,
    state: str,
    *,
    note: str,
    data: Mapping[str, Any] | None = None,
    actions: Sequence[AuditEntry] = (),
) -> ChecklistEntry:
    """Set one item (audited as `incident.checklist`, plus `actions` in the same transaction).

    No-op (nothing written, `actions` not recorded) when the item already has this state and
    note. `actions` are the audited side effects of the item (e.g. `story.reopen`); they are
    attached to the incident.
    """
    item = parse_item(item)
    if state not in STATES:
        raise UserInputError(
            f"invalid checklist state {state!r}: choose one of {', '.join(STATES)}"
        )
    check_text(note, "--note", max_len=NOTE_MAX_LEN, multiline=True)
    check_text(ctx.actor, "--actor", max_len=120)
    if not ctx.actor.strip():
        raise UserInputError("a non-empty --actor is required")
    note = redact(note.strip())
    stored = None if data is None else redact_data(dict(data))
    with write_transaction(ctx.engine) as conn:
        # Lock the incident row: concurrent changes of one incident's checklist queue here.
        locked = conn.execute(
            select(incidents.c.id).where(incidents.c.id == incident_id).with_for_update()
        ).first()
        if locked is None:
            fetch_incident(conn, incident_id)  # raises NotFoundError
        current = _entries(conn, incident_id).get(item)
        if current is not None and (current.state, current.note) == (state, note):
            return current
        now = ctx.clock()
        values = {"state": state, "note": note, "data": stored, "at": now, "actor": ctx.actor}
        if current is None:
            conn.execute(
                insert(incident_checklist).values(incident_id=incident_id, item=item, **values)
            )
        else:
            conn.execute(
                update(incident_checklist)
                .where(
                    incident_checklist.c.incident_id == incident_id,
                    incident_checklist.c.item == item,
                )
                .values(**values)
            )
        before = "pending" if current is None else current.state
        write_audit(
            conn,
            AuditEntry(
                at=now,
                actor=ctx.actor,
                action="incident.checklist",
                target=f"incident:{incident_id}",
                reason=note or f"checklist {item}: {state}",
                before=None if current is None else {"item": item, "state": current.state},
                after={
                    "item": item,
                    "state": state,
                    "summary": f"checklist {item}: {before} → {state}"
                    + (f" ({note})" if note else ""),
                },
                incident_id=incident_id,
            ),
        )
        for action in actions:
            write_audit(conn, _attached(action, incident_id, now, ctx.actor))
    return ChecklistEntry(item, state, note, stored, now, ctx.actor)


def _attached(action: AuditEntry, incident_id: int, at: dt.datetime, actor: str) -> AuditEntry:
    return AuditEntry(
        at=at,
        actor=actor,
        action=action.action,
        target=action.target,
        reason=action.reason,
        before=action.before,
        after=action.after,
        incident_id=incident_id,
    )


def mark(ctx: AppContext, incident_id: int, item: str, state: str, note: str) -> ChecklistEntry:
    """An operator's explicit `--done ITEM` / `--na ITEM`: a non-empty `--note` is required."""
    if not note.strip():
        raise UserInputError(f"a non-empty --note is required to mark {item!r} {state}")
    return set_item(ctx, incident_id, item, state, note=note)


def auto_checklist(
    ctx: AppContext, incident_id: int, *, focal_abandoned: bool | None
) -> tuple[ChecklistEntry, ...]:
    """Set every pending item that the records decide; items already set are left alone.

    * a `false_positive` incident: every item but `logged` is `not_applicable`;
    * `root_cause`: the `remediation` note's path; else path A when the incident was rolled
      back (the runbook's default, "already done in step 3") — otherwise left pending;
    * `gate_rechecked`: `recheck_gate`;
    * `story_reopened` / `committee_session`: `focal_abandoned` True records the audited
      `story.reopen` / `committee.open` and marks them done, False marks them not applicable,
      None leaves them to the `remediation` note's `focal_abandoned` (if it says) or pending.
    `logged` is set by `export_incident`. Returns the whole checklist afterwards.
    """
    from cvntrade.runbook.incident_records import latest_note, remediation_path, rolled_back_at

    current = {e.item: e for e in read_checklist(ctx.engine, incident_id)}

    def pending(item: ChecklistItem) -> bool:
        return not current[item.value].definite

    with ctx.engine.connect() as conn:
        incident = fetch_incident(conn, incident_id)
    if incident.status == IncidentStatus.FALSE_POSITIVE:
        for item in ITEMS[1:]:
            if pending(ChecklistItem(item)):
                set_item(
                    ctx,
                    incident_id,
                    item,
                    ChecklistState.NOT_APPLICABLE,
                    note="false positive: nothing regressed",
                )
        return read_checklist(ctx.engine, incident_id)
    remediation = latest_note(ctx.engine, incident_id, "remediation")
    if pending(ChecklistItem.ROOT_CAUSE):
        path = remediation_path(remediation)
        rolled_back = rolled_back_at(ctx.engine, incident_id)
        if path is not None and remediation is not None:
            set_item(
                ctx,
                incident_id,
                ChecklistItem.ROOT_CAUSE,
                ChecklistState.DONE,
                note=_path_note(path, remediation.text),
                data={"path": path, "source": "remediation note"},
            )
        elif rolled_back is not None:
            set_item(
                ctx,
                incident_id,
                ChecklistItem.ROOT_CAUSE,
                ChecklistState.DONE,
                note=(
                    f"path A (default): rolled back at {rolled_back:%Y-%m-%d %H:%M:%S} UTC, "
                    "no other path recorded"
                ),
                data={"path": "A", "source": "rollback"},
            )
    if pending(ChecklistItem.GATE_RECHECKED):
        from cvntrade.runbook.gate_recheck import recheck_gate

        recheck_gate(ctx, incident_id)
    if focal_abandoned is None and remediation is not None and isinstance(remediation.data, dict):
        said = remediation.data.get("focal_abandoned")
        focal_abandoned = said if isinstance(said, bool) else None
    if focal_abandoned is not None:
        _abandonment_items(ctx, incident_id, focal_abandoned, pending)
    return read_checklist(ctx.engine, incident_id)


def _path_note(path: str, text: str) -> str:
    """`path X: <first line of the remediation note>` without saying `path X` twice."""
    first = text.splitlines()[0][:300] if text.strip() else ""
    if first.lower().startswith(f"path {path.lower()}"):
        return first
    return f"path {path}: {first}" if first else f"path {path}"


def _abandonment_items(ctx: AppContext, incident_id: int, abandoned: bool, pending: Any) -> None:
    why = f"focal abandoned after incident #{incident_id}"
    for item, action in (
        (
            ChecklistItem.STORY_REOPENED,
            AuditEntry(
                ctx.clock(),
                ctx.actor,
                "story.reopen",
                STORY_TARGET,
                why,
                before=None,
                after={"verdict": "abandoned"},
            ),
        ),
        (
            ChecklistItem.COMMITTEE_SESSION,
            AuditEntry(
                ctx.clock(),
                ctx.actor,
                "committee.open",
                COMMITTEE_TARGET,
                why,
                before=None,
                after={"committee": "pr_review", "subject": "abandon the focal variant"},
            ),
        ),
    ):
        if not pending(item):
            continue
        if abandoned:
            set_item(
                ctx,
                incident_id,
                item,
                ChecklistState.DONE,
                note=f"{action.action} {action.target} (audited)",
                data={"action": action.action, "target": action.target, "after": action.after},
                actions=(action,),
            )
        else:
            set_item(
                ctx,
                incident_id,
                item,
                ChecklistState.NOT_APPLICABLE,
                note="focal not abandoned",
            )
