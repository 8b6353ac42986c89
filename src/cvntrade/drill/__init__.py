"""Rehearsal data: deterministic, realistic histories for practising the runbook."""

from cvntrade.drill.journal_drill import (
    SCENARIOS,
    DrillResult,
    generate_drill_trades,
    run_journal_drill,
)

__all__ = ["SCENARIOS", "DrillResult", "generate_drill_trades", "run_journal_drill"]
