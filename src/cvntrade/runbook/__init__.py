"""Runbook automation for `expectancy_negative_focal`: each step a function with a typed result.

Step 1 `confirm` (is the alert real?), step 2 `check_config` (is focal still configured?), step 3
`rollback` (config and champions back to binary, within the SLA, until the engines serve the new
versions), and the incident log every step attaches to: its report in OPERATIONS.md
(`export_incident`, `close_incident`) and its post-incident checklist (`auto_checklist`).
"""

from cvntrade.runbook.checklist import ChecklistEntry, auto_checklist, read_checklist
from cvntrade.runbook.incident_export import ExportResult, close_incident, export_incident
from cvntrade.runbook.incidents import (
    SEVERITIES,
    STATUSES,
    Attachment,
    Incident,
    IncidentNote,
    add_note,
    get_incident,
    list_incidents,
    open_incident,
    resolve_attachment,
)
from cvntrade.runbook.propagation import (
    NO_LIVE_ENGINE,
    NOT_SWITCHED,
    SWITCHED,
    EngineReport,
    PropagationReport,
    PropagationTarget,
    SymbolPropagation,
    wait_for_propagation,
)
from cvntrade.runbook.rollback import (
    ALREADY_BINARY,
    BASELINE_LOSS,
    MOVE,
    PROPAGATION_SLA_S,
    REVERT_SLA_S,
    UNTAGGED,
    RollbackResult,
    RollbackTiming,
    SymbolRollback,
    parse_symbols,
    plan_symbols,
    rollback,
)
from cvntrade.runbook.steps import (
    ALERT,
    CheckConfigResult,
    ConfirmResult,
    check_config,
    confirm,
    negative_focal_symbols,
)
from cvntrade.runbook.timeline import IncidentTimeline, TimelineEntry, incident_timeline

__all__ = [
    "ALERT",
    "ALREADY_BINARY",
    "BASELINE_LOSS",
    "MOVE",
    "NOT_SWITCHED",
    "NO_LIVE_ENGINE",
    "PROPAGATION_SLA_S",
    "REVERT_SLA_S",
    "SEVERITIES",
    "STATUSES",
    "SWITCHED",
    "UNTAGGED",
    "Attachment",
    "CheckConfigResult",
    "ChecklistEntry",
    "ConfirmResult",
    "EngineReport",
    "ExportResult",
    "Incident",
    "IncidentNote",
    "IncidentTimeline",
    "PropagationReport",
    "PropagationTarget",
    "RollbackResult",
    "RollbackTiming",
    "SymbolPropagation",
    "SymbolRollback",
    "TimelineEntry",
    "add_note",
    "auto_checklist",
    "check_config",
    "close_incident",
    "confirm",
    "export_incident",
    "get_incident",
    "incident_timeline",
    "list_incidents",
    "negative_focal_symbols",
    "open_incident",
    "parse_symbols",
    "plan_symbols",
    "read_checklist",
    "resolve_attachment",
    "rollback",
    "wait_for_propagation",
]
