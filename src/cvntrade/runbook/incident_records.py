"""Structured incident notes: the diagnosis a step records, and reading notes back by kind.

`runbook diagnose --incident N` keeps its result as a note of kind `diagnosis` whose `data`
holds the ranked causes, the scope, the path and the PSI per symbol and feature (for the
report's chart); `runbook remediate` (path decision) writes a note of kind `remediation` whose
`data["path"]` is `A`, `B` or `C`. The incident report and the checklist read the latest of
each.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, select

from cvntrade.db.engine import write_transaction
from cvntrade.db.tables import incident_notes
from cvntrade.domain import NoteKind
from cvntrade.runbook.diagnose import Diagnosis, SymbolEvidence
from cvntrade.runbook.incidents import IncidentNote, fetch_incident, insert_note

PATHS = ("A", "B", "C")


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None (PostgreSQL's JSONB refuses them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def diagnosis_data(
    diagnosis: Diagnosis, evidence: Sequence[SymbolEvidence] = (), *, at: dt.datetime
) -> dict[str, Any]:
    """The `data` of a diagnosis note: the diagnosis itself plus PSI per symbol and feature."""
    payload = _finite(asdict(diagnosis))
    payload["at"] = at.isoformat()
    payload["psi"] = {s.crypto_symbol: _finite(dict(sorted(s.psi.items()))) for s in evidence}
    return dict(payload)


def diagnosis_text(diagnosis: Diagnosis) -> str:
    """One short paragraph: ranking, likely causes, scope and the recommended path."""
    likely = ", ".join(diagnosis.likely) or "none"
    affected = ", ".join(diagnosis.affected) or "-"
    return (
        f"diagnosis: likely {likely}; ranking {', '.join(diagnosis.ranking)}; "
        f"scope {diagnosis.scope} ({affected}); path {diagnosis.path}: {diagnosis.why}"
    )


def record_diagnosis(
    engine: Engine,
    incident_id: int,
    diagnosis: Diagnosis,
    *,
    actor: str,
    at: dt.datetime,
    evidence: Sequence[SymbolEvidence] = (),
) -> IncidentNote:
    """Keep a diagnosis as a `diagnosis` note of the incident (audited as `incident.note`)."""
    with write_transaction(engine) as conn:
        fetch_incident(conn, incident_id)
        return insert_note(
            conn,
            incident_id,
            diagnosis_text(diagnosis),
            actor=actor,
            at=at,
            kind=NoteKind.DIAGNOSIS.value,
            data=diagnosis_data(diagnosis, evidence, at=at),
        )


def latest_note(engine: Engine, incident_id: int, kind: str) -> IncidentNote | None:
    """The newest note of `kind` on the incident, or None."""
    n = incident_notes.c
    query = (
        select(incident_notes)
        .where(n.incident_id == incident_id, n.kind == kind)
        .order_by(n.at.desc(), n.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return IncidentNote(
        int(row.id), int(row.incident_id), row.at, row.actor, row.kind, row.text, row.data
    )


def remediation_path(note: IncidentNote | None) -> str | None:
    """The path letter of a `remediation` note (`data["path"]`), or None when undecided."""
    if note is None or not isinstance(note.data, dict):
        return None
    path = str(note.data.get("path", "")).strip().upper()
    return path if path in PATHS else None


@dataclass(frozen=True, slots=True)
class IncidentScope:
    """The symbols an incident is about and the strategy label of their models."""

    symbols: tuple[str, ...]
    strategy: str


def incident_scope(engine: Engine, incident_id: int) -> IncidentScope:
    """Symbols named by the incident's records: step 1's negatives, the rollback's symbols,
    the alert events' negatives, the diagnosis' affected symbols; the strategy from the
    moved models' names (default `SL0.5_TP1_H4`)."""
    from cvntrade.monitoring.evaluator import incident_events
    from cvntrade.runbook.timeline import incident_timeline
    from cvntrade.strategy import DEFAULT_MODEL_TYPE, DEFAULT_STRATEGY

    symbols: set[str] = set()
    strategy = DEFAULT_STRATEGY
    for entry in incident_timeline(engine, incident_id).entries:
        after = entry.data.get("after") if isinstance(entry.data, dict) else None
        if not isinstance(after, dict):
            continue
        if entry.kind == "runbook.confirm":
            symbols.update(str(s) for s in after.get("negative_symbols") or ())
        elif entry.kind == "runbook.rollback":
            symbols.update(str(s) for s in (after.get("champions") or {}))
        elif entry.kind == "models.set_alias":
            name = str(entry.data.get("target", "")).split("@", 1)[0]
            parts = name.split("_", 3)  # CVNTrade, XGBoost, SYMBOL, STRATEGY
            if len(parts) == 4 and parts[1] == DEFAULT_MODEL_TYPE:
                symbols.add(parts[2])
                strategy = parts[3]
    for event in incident_events(engine, incident_id):
        named = str(event.labels.get("negative_symbols", ""))
        symbols.update(s for s in named.split(",") if s)
    diagnosis = latest_note(engine, incident_id, NoteKind.DIAGNOSIS.value)
    if diagnosis is not None and isinstance(diagnosis.data, dict):
        symbols.update(str(s) for s in diagnosis.data.get("affected") or ())
    return IncidentScope(tuple(sorted(symbols)), strategy)


MITIGATIONS = ("models.set_alias", "runbook.rollback")


def rolled_back_at(engine: Engine, incident_id: int) -> dt.datetime | None:
    """When the incident's rollback moved something: its first attached alias move, or its
    first complete `runbook.rollback` row that changed something (None when never)."""
    from cvntrade.db.tables import audit_log

    a = audit_log.c
    query = (
        select(a.at, a.action, a.after)
        .where(a.incident_id == incident_id, a.action.in_(MITIGATIONS))
        .order_by(a.at, a.id)
    )
    with engine.connect() as conn:
        for at, action, after in conn.execute(query):
            if action == "models.set_alias":
                return at  # type: ignore[no-any-return]
            if isinstance(after, dict) and after.get("changed") and not after.get("interrupted"):
                return at  # type: ignore[no-any-return]
    return None
