"""The incident log: open, note, status, list, attachment rules and the audited timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError

from cvntrade.audit import AuditEntry, read_audit, write_audit
from cvntrade.db import write_transaction
from cvntrade.db.tables import audit_log, incident_notes, incidents
from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.runbook import (
    add_note,
    get_incident,
    incident_timeline,
    list_incidents,
    open_incident,
    resolve_attachment,
)

ALERT = "expectancy_negative_focal"


def _ticking_clock() -> Iterator[dt.datetime]:
    at = dt.datetime(2026, 11, 24, 12, 0)
    while True:
        yield at
        at += dt.timedelta(seconds=1)


def _counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (incidents, incident_notes, audit_log)
        )


def test_open_note_and_status_changes_are_audited(engine: Engine) -> None:
    ticks = _ticking_clock()
    incident = open_incident(
        engine, alert=ALERT, title="focal negative", actor="oncall", clock=lambda: next(ticks)
    )
    assert (incident.status, incident.severity, incident.closed_at) == ("open", "P1", None)
    add_note(engine, incident.id, "looking at Grafana", actor="oncall", clock=lambda: next(ticks))
    updated, note = add_note(
        engine,
        incident.id,
        "rolled back, expectancy recovering",
        actor="lead",
        status="resolved",
        clock=lambda: next(ticks),
    )
    assert updated.status == "resolved"
    assert updated.closed_at == note.at
    assert get_incident(engine, incident.id) == updated
    actions = [a.action for a in reversed(read_audit(engine, target=f"incident:{incident.id}"))]
    assert actions == ["incident.open", "incident.note", "incident.note", "incident.status"]
    entries = incident_timeline(engine, incident.id).entries
    assert [(e.source, e.kind) for e in entries] == [
        ("audit", "incident.open"),
        ("note", "note"),
        ("note", "note"),
        ("audit", "incident.status"),
    ]
    assert entries[3].text.startswith("status open → resolved")


def test_timeline_merges_attached_audit_rows_of_other_services_in_time_order(
    engine: Engine,
) -> None:
    first = open_incident(engine, alert=ALERT, title="one", actor="a")
    second = open_incident(engine, alert=ALERT, title="two", actor="a")
    at = dt.datetime(2030, 1, 1)
    with write_transaction(engine) as conn:
        for reason, attached in (
            ("rollback", second.id),
            ("rollback", first.id),
            ("unrelated", None),
            (f"forged [incident #{first.id}]", None),
            (f"forged [incident #{first.id}]", second.id),
        ):
            write_audit(
                conn,
                AuditEntry(
                    at=at,
                    actor="ops",
                    action="models.set_alias",
                    target="CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4@champion",
                    reason=reason,
                    before={"version": 3},
                    after={"version": 2, "command": "cvntrade models set-alias …"},
                    incident_id=attached,
                ),
            )
    entries = incident_timeline(engine, first.id).entries
    assert [e.kind for e in entries] == ["incident.open", "models.set_alias"]
    assert entries[1].text.endswith("— cvntrade models set-alias … (rollback)")
    assert len(incident_timeline(engine, second.id).entries) == 3


def test_a_reason_naming_an_incident_attaches_nothing(engine: Engine) -> None:
    incident = open_incident(engine, alert=ALERT, title="one", actor="a")
    with write_transaction(engine) as conn:
        write_audit(
            conn,
            AuditEntry(
                at=dt.datetime(2030, 1, 1),
                actor="mallory",
                action="config.set",
                target="ftf_config",
                reason=f"nothing to see [incident #{incident.id}]",
            ),
        )
    texts = [e.text for e in incident_timeline(engine, incident.id).entries]
    assert len(texts) == 1
    assert not any("nothing to see" in t for t in texts)
    forged = read_audit(engine, action="config.set", limit=1)[0]
    assert forged.incident_id is None


def test_an_audit_row_cannot_attach_to_a_missing_incident(engine: Engine) -> None:
    before = _counts(engine)
    with pytest.raises(DBAPIError), write_transaction(engine) as conn:
        write_audit(
            conn,
            AuditEntry(dt.datetime(2030, 1, 1), "a", "config.set", "t", "r", incident_id=999),
        )
    assert _counts(engine) == before


def test_steps_attach_to_the_only_open_incident_or_say_why_not(engine: Engine) -> None:
    none = resolve_attachment(engine, None, alert=ALERT)
    assert none.incident_id is None
    assert "no open incident" in none.explanation
    first = open_incident(engine, alert=ALERT, title="one", actor="a")
    open_incident(engine, alert="other_alert", title="other", actor="a")
    assert resolve_attachment(engine, None, alert=ALERT).incident_id == first.id
    second = open_incident(engine, alert=ALERT, title="two", actor="a")
    several = resolve_attachment(engine, None, alert=ALERT)
    assert several.incident_id is None
    assert "pass --incident" in several.explanation
    assert resolve_attachment(engine, second.id, alert=ALERT).incident_id == second.id
    add_note(engine, second.id, "dup", actor="a", status="resolved")
    assert resolve_attachment(engine, None, alert=ALERT).incident_id == first.id
    with pytest.raises(NotFoundError, match="incident #999 not found"):
        resolve_attachment(engine, 999, alert=ALERT)


def test_list_filters_newest_first(engine: Engine) -> None:
    a = open_incident(engine, alert=ALERT, title="a", actor="x")
    b = open_incident(engine, alert="other_alert", title="b", actor="x", severity="P3")
    add_note(engine, a.id, "fixed", actor="x", status="mitigated")
    assert [i.id for i in list_incidents(engine)] == [b.id, a.id]
    assert [i.id for i in list_incidents(engine, alert=ALERT)] == [a.id]
    assert [i.id for i in list_incidents(engine, status="mitigated")] == [a.id]
    assert [i.id for i in list_incidents(engine, ongoing_only=True)] == [b.id, a.id]
    assert [i.id for i in list_incidents(engine, limit=1)] == [b.id]


def test_bad_incident_input_changes_nothing(engine: Engine) -> None:
    for kwargs, message in [
        ({"alert": "Bad Alert"}, "invalid alert"),
        ({"severity": "P9"}, "invalid severity"),
        ({"title": "  "}, "--title"),
        ({"actor": ""}, "--actor"),
    ]:
        args = {"alert": ALERT, "title": "t", "actor": "a", "severity": "P1", **kwargs}
        with pytest.raises(UserInputError, match=message):
            open_incident(
                engine,
                alert=args["alert"],
                title=args["title"],
                actor=args["actor"],
                severity=args["severity"],
            )
    assert _counts(engine) == (0, 0, 0)


def test_bad_note_input_changes_nothing(engine: Engine) -> None:
    incident = open_incident(engine, alert=ALERT, title="t", actor="a")
    before = _counts(engine)
    with pytest.raises(UserInputError, match="invalid status 'closed'"):
        add_note(engine, incident.id, "x", actor="a", status="closed")
    with pytest.raises(UserInputError, match="needs some text"):
        add_note(engine, incident.id, " ", actor="a")
    with pytest.raises(NotFoundError, match="incident #42 not found"):
        add_note(engine, 42, "x", actor="a")
    assert _counts(engine) == before
