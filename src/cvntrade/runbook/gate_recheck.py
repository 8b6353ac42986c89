"""Checklist item `gate_rechecked`: the FTF gate re-checked for each symbol of an incident.

The runbook asks to re-check the per-track gate criteria after an incident; this runs what
`cvntrade gate check --symbol S` runs (`cvntrade.gate.check_gate`, default criteria unless
given) for every symbol the incident names, on the strategy of its models, and records the
outcome per symbol in the checklist (audited).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvntrade.domain import ChecklistItem, ChecklistState
from cvntrade.errors import CvnError
from cvntrade.runbook.checklist import ChecklistEntry, set_item

if TYPE_CHECKING:
    from cvntrade.app import AppContext


def recheck_gate(
    ctx: AppContext, incident_id: int, *, criteria: Path | None = None
) -> ChecklistEntry:
    """Run the gate check (`cvntrade gate check`) for each symbol of the incident; record it.

    Per symbol: `pass` / `fail` with the judged cell, or `not judged` with the reason (no sweep,
    no finished baseline). The item is `done` once the check ran, `not_applicable` when the
    incident names no symbol.
    """
    from cvntrade.gate import check_gate, load_criteria
    from cvntrade.runbook.incident_records import incident_scope

    loaded = load_criteria(criteria)
    scope = incident_scope(ctx.engine, incident_id)
    if not scope.symbols:
        return set_item(
            ctx,
            incident_id,
            ChecklistItem.GATE_RECHECKED,
            ChecklistState.NOT_APPLICABLE,
            note="the incident names no symbol: no gate to re-check",
        )
    results: dict[str, dict[str, Any]] = {}
    for symbol in scope.symbols:
        try:
            verdict = check_gate(ctx.engine, symbol, scope.strategy, loaded)
        except CvnError as exc:
            results[symbol] = {"outcome": "not judged", "detail": str(exc)}
            continue
        results[symbol] = {
            "outcome": "pass" if verdict.passed else "fail",
            "detail": f"cell {verdict.cell.cell}, sweep {verdict.sweep_key}",
        }
    summary = ", ".join(f"{s} {r['outcome']}" for s, r in results.items())
    return set_item(
        ctx,
        incident_id,
        ChecklistItem.GATE_RECHECKED,
        ChecklistState.DONE,
        note=f"gate check ({scope.strategy}, criteria v{loaded.criteria.version}): {summary}",
        data={"strategy": scope.strategy, "criteria": loaded.source, "results": results},
    )
