"""Everything an incident's OPERATIONS.md section says, read from the database (read-only).

The report is pure data (`IncidentReport`), gathered once; `incident_markdown` renders it and
`cvntrade.runbook.incident_charts` draws it. The same database gives the same report, byte for
byte: nothing depends on the time of the export.

Before / after: the pivot is the rollback (the incident's first alias move, or first
`runbook.rollback` that changed something), else the incident's opening. "Before" is the 48 h
ending at the pivot, "after" the 48 h starting at it — per symbol and loss, the mean
`realized_pnl_pct` of trades entered in the window (the runbook's step-1 number), the
predicted probabilities of the `predictions` table over the same windows, and the latest PSI
per symbol and feature recorded by the monitor (`monitor_snapshots`, signal `psi_max`) over both
windows, else the PSI kept by the diagnosis note.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from cvntrade.db.tables import monitor_snapshots, predictions
from cvntrade.domain import NoteKind
from cvntrade.journal.expectancy import LossExpectancy, expectancy_between
from cvntrade.monitoring.evaluator import AlertEvent, incident_events
from cvntrade.runbook.checklist import ChecklistEntry, read_checklist
from cvntrade.runbook.incident_records import (
    IncidentScope,
    incident_scope,
    latest_note,
    rolled_back_at,
)
from cvntrade.runbook.incidents import IncidentNote
from cvntrade.runbook.timeline import IncidentTimeline, incident_timeline

WINDOW = dt.timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class IncidentReport:
    """An incident's whole story as of the export (see the module doc for the windows)."""

    timeline: IncidentTimeline
    events: tuple[AlertEvent, ...]
    diagnosis: IncidentNote | None
    remediation: IncidentNote | None
    scope: IncidentScope
    pivot: dt.datetime
    pivot_kind: str  # "rollback" or "opened"
    before: tuple[LossExpectancy, ...]
    after: tuple[LossExpectancy, ...]
    checklist: tuple[ChecklistEntry, ...]
    probabilities: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = field(
        default_factory=dict
    )
    """Per symbol: predicted probabilities before, after (bar time order)."""
    psi: dict[str, dict[str, float]] = field(default_factory=dict)
    psi_source: str = "none"


def gather_report(engine: Engine, incident_id: int) -> IncidentReport:
    """Read the incident, its timeline, alert events, notes, numbers and checklist."""
    timeline = incident_timeline(engine, incident_id)  # NotFoundError first
    rolled_back = rolled_back_at(engine, incident_id)
    pivot = rolled_back or timeline.incident.opened_at
    scope = incident_scope(engine, incident_id)
    diagnosis = latest_note(engine, incident_id, NoteKind.DIAGNOSIS.value)
    psi, psi_source = _psi(engine, scope.symbols, pivot, diagnosis)
    return IncidentReport(
        timeline=timeline,
        events=tuple(incident_events(engine, incident_id)),
        diagnosis=diagnosis,
        remediation=latest_note(engine, incident_id, NoteKind.REMEDIATION.value),
        scope=scope,
        pivot=pivot,
        pivot_kind="opened" if rolled_back is None else "rollback",
        before=tuple(expectancy_between(engine, start=pivot - WINDOW, end=pivot)),
        after=tuple(expectancy_between(engine, start=pivot, end=pivot + WINDOW)),
        checklist=read_checklist(engine, incident_id),
        probabilities=_probabilities(engine, scope.symbols, pivot),
        psi=psi,
        psi_source=psi_source,
    )


def _probabilities(
    engine: Engine, symbols: tuple[str, ...], pivot: dt.datetime
) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    p = predictions.c
    query = (
        select(p.crypto_symbol, p.bar_time, p.probability)
        .where(p.bar_time >= pivot - WINDOW, p.bar_time < pivot + WINDOW)
        .order_by(p.crypto_symbol, p.bar_time, p.id)
    )
    if symbols:
        query = query.where(p.crypto_symbol.in_(symbols))
    out: dict[str, tuple[list[float], list[float]]] = {}
    with engine.connect() as conn:
        for symbol, bar_time, probability in conn.execute(query):
            out.setdefault(symbol, ([], []))[0 if bar_time < pivot else 1].append(
                float(probability)
            )
    return {s: (tuple(b), tuple(a)) for s, (b, a) in sorted(out.items())}


def _psi(
    engine: Engine, symbols: tuple[str, ...], pivot: dt.datetime, diagnosis: IncidentNote | None
) -> tuple[dict[str, dict[str, float]], str]:
    m = monitor_snapshots.c
    query = (
        select(m.crypto_symbol, m.at, m.data)
        .where(m.signal == "psi_max", m.at >= pivot - WINDOW, m.at < pivot + WINDOW)
        .order_by(m.crypto_symbol, m.at, m.id)
    )
    if symbols:
        query = query.where(m.crypto_symbol.in_(symbols))
    latest: dict[str, tuple[dt.datetime, dict[str, float]]] = {}
    with engine.connect() as conn:
        for symbol, at, data in conn.execute(query):
            values = _psi_values((data or {}).get("psi") if isinstance(data, dict) else None)
            if values:
                latest[symbol] = (at, values)
    if latest:
        newest = max(at for at, _ in latest.values())
        return (
            {s: latest[s][1] for s in sorted(latest)},
            f"monitor snapshots (latest per symbol, up to {newest:%Y-%m-%d %H:%M} UTC)",
        )
    if diagnosis is not None and isinstance(diagnosis.data, dict):
        kept = diagnosis.data.get("psi")
        if isinstance(kept, dict):
            found = {str(s): _psi_values(v) for s, v in sorted(kept.items())}
            found = {s: v for s, v in found.items() if v}
            if found:
                return found, f"diagnosis of {diagnosis.at:%Y-%m-%d %H:%M} UTC"
    return {}, "none"


def _psi_values(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): float(v) for k, v in sorted(raw.items()) if isinstance(v, (int, float))}
